"""The latency benchmark: its real-time output, its arithmetic, and one quick end-to-end run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import launch
from app import bench, bench_clips, bench_report
from core.config import PROJECT_ROOT
from realtime.paced_output import PacedOutput


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def tone(seconds: float, rate: int = 1000) -> np.ndarray:
    return np.full(int(seconds * rate), 1000, dtype=np.int16)


# --- PacedOutput -----
def test_paced_output_plays_with_the_clock_not_at_once() -> None:
    clock = FakeClock()
    out = PacedOutput(1000, clock=clock)
    assert out.played_samples() == 0
    out.enqueue(tone(1.0), 0)
    assert out.played_samples() == 0  # queued, not yet heard
    clock.t += 0.25
    assert out.played_samples() == 250
    clock.t += 5
    assert out.played_samples() == 1000  # never more than was queued


def test_paced_output_is_gapless_when_the_next_phrase_comes_in_time() -> None:
    clock = FakeClock()
    out = PacedOutput(1000, clock=clock)
    out.enqueue(tone(1.0), 0)
    clock.t += 0.5
    out.enqueue(tone(1.0), 1)  # arrives while the first still plays: joins back to back
    clock.t += 1.0
    assert out.played_samples() == 1500
    assert out.gaps == 0
    assert out.pending_samples() == 500


def test_paced_output_leaves_a_gap_when_starved() -> None:
    clock = FakeClock()
    out = PacedOutput(1000, clock=clock)
    out.enqueue(tone(1.0), 0)
    clock.t += 3.0  # the first phrase ended 2 s ago: the user heard silence
    out.enqueue(tone(1.0), 1)
    assert out.played_samples() == 1000  # the gap is not counted as played
    clock.t += 0.5
    assert out.played_samples() == 1500
    assert out.gaps == 1
    assert out.gap_s == pytest.approx(2.0)
    assert out.gap_log == [(pytest.approx(103.0), pytest.approx(2.0))]  # when, and how long


def test_paced_output_clear_silences_and_resets() -> None:
    clock = FakeClock()
    out = PacedOutput(1000, clock=clock)
    out.enqueue(tone(2.0), 0)
    clock.t += 0.5
    out.clear()
    assert out.played_samples() == 0
    clock.t += 10
    assert out.played_samples() == 0  # the dropped audio never plays
    out.enqueue(tone(1.0), 1)
    clock.t += 0.1
    assert out.played_samples() == 100
    assert out.gaps == 0  # a new start after a flush is not a gap


def test_paced_output_ignores_empty_audio_and_rejects_bad_rate() -> None:
    out = PacedOutput(1000, clock=FakeClock())
    out.enqueue(np.zeros(0, dtype=np.int16), 0)
    assert out.played_samples() == 0 and out.pending_samples() == 0
    out.enqueue(tone(0.5), 1)  # control: real audio is queued
    assert out.pending_samples() == 500
    with pytest.raises(ValueError, match="sample_rate"):
        PacedOutput(0)


async def test_paced_output_wait_done_returns_when_everything_was_heard() -> None:
    out = PacedOutput(1000)
    out.enqueue(tone(0.03), 0)
    out.enqueue(tone(0.03), 1)
    await out.wait_done()
    assert out.played_samples() == 60
    assert out.pending_samples() == 0


# --- statistics -----
def test_summarize_gives_nearest_rank_percentiles() -> None:
    s = bench_report.summarize([float(v) for v in range(1, 21)])
    assert s["n"] == 20 and s["p50"] == 10.0 and s["p95"] == 19.0 and s["mean"] == 10.5
    assert bench_report.summarize([]) == {"n": 0, "p50": None, "p95": None, "mean": None}
    assert bench_report.summarize([0.7])["p95"] == 0.7


def test_ratio_is_none_when_it_cannot_be_computed() -> None:
    assert bench_report.ratio(1.0, 4.0) == 0.25
    assert bench_report.ratio(None, 4.0) is None
    assert bench_report.ratio(1.0, None) is None
    assert bench_report.ratio(1.0, 0.0) is None


def test_word_error_rate_ignores_case_and_punctuation() -> None:
    assert bench_report.wer("Ask not! What your country", "ask not what your country") == 0.0
    one_wrong = bench_report.wer("a trip to Lisbon next month", "a trip to listen next month")
    assert one_wrong == pytest.approx(1 / 6, abs=1e-3)
    assert bench_report.word_errors("one two three", "one three") == (1, 3)  # a deletion
    assert bench_report.word_errors("one two", "one two two three") == (2, 2)  # insertions


def _turn(mode: str, v2v: float | None, partial: float, interrupted: bool = False) -> dict[str, Any]:
    iv = {"onset_to_first_partial": partial, "eos_to_final": 0.8}
    if v2v is not None:
        iv |= {"voice_to_voice": v2v, "request_to_first_phrase": 0.4,
               "pipeline_overhead": round(v2v - 1.1, 3)}
    return {"mode": mode, "clip": "a.wav", "turn_id": "t", "transcript": "hello there",
            "interrupted": interrupted, "voice": "piper", "intervals": iv, "marks": {}, "gaps": 0,
            "gap_s": 0.0}


def _results() -> dict[str, Any]:
    runs = [{"mode": "streaming", "clip": "a.wav", "transcript": "hello there", "reference": "hello there",
             "wer": 0.0, "word_errors": 0, "reference_words": 2,
             "turns": [_turn("streaming", 0.5, 0.9, interrupted=True), _turn("streaming", 1.2, 0.5)],
             "decodes": [{"audio_s": 2.0, "decode_s": 0.4, "final": True}]},
            {"mode": "classic", "clip": "a.wav", "transcript": "hello", "reference": "hello there",
             "wer": 0.5, "word_errors": 1, "reference_words": 2, "turns": [_turn("classic", 3.0, 0.6)],
             "decodes": [{"audio_s": 1.0, "decode_s": 0.5, "final": False}]}]
    config = {"turns_per_mode": 1, "silence_ms": 700, "vad_engine": "webrtc", "stt_model": "embedded",
              "stt_beams": "1/5", "tts_chain": ["piper", "pyttsx3"], "output": "PacedOutput (real-time)",
              "llm": {"kind": "sim", "first_token_ms": 200, "tokens_per_s": 30, "reply_sentences": 3}}
    idle = {"seconds": 10.0, "cpu_s": 0.3, "cpu_percent_of_one_core": 3.0, "false_starts": 0}
    memory = {"rss_peak_mb": 1500.0, "rss_peak_mb_without_embedder": 600.0,
              "loaded": ["Whisper", "piper voice"]}
    return bench_report.assemble(runs, [{"name": "a.wav", "duration_s": 2.0, "reference": "hello there"}],
                                 config, idle, memory)


def test_reply_stages_leave_out_cut_replies_but_listening_counts_every_utterance() -> None:
    res = _results()
    stream = res["summary"]["streaming"]
    assert stream["voice_to_voice"]["n"] == 1 and stream["voice_to_voice"]["p50"] == 1.2
    assert stream["onset_to_first_partial"]["n"] == 2
    assert res["ratio_streaming_over_classic"] == 0.4  # 1.2 / 3.0
    assert res["stt"]["wer"] == 0.25 and res["stt"]["rtf_final_p50"] == 0.2
    assert res["interrupted_turns"] == 1


def test_targets_say_met_not_met_or_not_measured() -> None:
    res = _results()
    met = {t["name"]: t["met"] for t in res["targets"]}
    assert met["voice_to_voice_p50"] is False  # 1.2 s > 0.7 s
    assert met["idle_cpu"] is True
    assert met["rss"] is False  # 1500 MB with the embedder
    assert met["streaming_over_classic"] is False  # 0.4 > 0.35
    res["summary"]["streaming"]["pipeline_overhead"]["p50"] = None
    again = {t["name"]: t["met"] for t in bench_report.evaluate_targets(res)}
    assert again["pipeline_overhead_p50"] is None


def test_report_renders_the_table_and_the_chart(tmp_path: Path) -> None:
    res = _results()
    md = bench_report.render_markdown(res)
    assert "| voice-to-voice (end of speech → first audible sample) | 1.200 |" in md
    assert f"{res['machine']['cores']} cores" in md
    assert "| voice-to-voice p50 ≤ 0.7 s | 1.200 s | **no** |" in md
    assert "| CPU while listening to silence < 5 % of a core | 3.0 % | yes |" in md
    assert "### Where voice-to-voice goes (p50)" in md and "| endpoint silence (vad.silence_ms) | 0.700 |" in md
    assert "| recorded | 1 | – | – | 1.200 / 1.200 |" in md  # the played streaming turn, by speaker
    bench_report.plot(res, tmp_path / "latency.png")
    assert (tmp_path / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_clip_is_put_to_its_speaker() -> None:
    assert bench_report.speaker_of("piper_question_3.wav") == "Piper (neural)"
    assert bench_report.speaker_of("question_1.wav") == "espeak-ng"
    assert bench_report.speaker_of("jfk.flac") == "recorded"


def test_piper_speaks_the_questions_in_a_child_process(tmp_path: Path) -> None:
    clips = bench_clips.piper_clips(tmp_path, ["What time is it?", "Tell me a joke."])
    assert [c.path.name for c in clips] == ["piper_question_1.wav", "piper_question_2.wav"]
    for c in clips:
        audio, rate = sf.read(c.path, dtype="int16")
        assert rate == 16000 and 0.5 < len(audio) / rate < 3 and np.abs(audio).max() > 3000


# --- clips and arguments -----
def test_folder_clips_take_references_from_txt_or_readme(tmp_path: Path) -> None:
    for name in ("a.wav", "b.flac"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "a.txt").write_text("Hello there.\n")
    readme = "| file | what | reference |\n|---|---|---|\n| b.flac | x | Ask not. |\n"
    (tmp_path / "README.md").write_text(readme)
    clips = bench_clips.folder_clips(tmp_path)
    assert [(c.path.name, c.reference) for c in clips] == [("a.wav", "Hello there."), ("b.flac", "Ask not.")]
    with pytest.raises(FileNotFoundError, match="no such folder"):
        bench_clips.folder_clips(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no audio files"):
        bench_clips.folder_clips(tmp_path / "empty")


def test_bench_arguments_reach_the_bench_in_order() -> None:
    assert launch._split_bench(["bench", "--quick", "--out", "x"]) == (["bench"], ["--quick", "--out", "x"])
    assert launch._split_bench(["--config", "c.yaml", "bench", "--turns", "2"]) == (
        ["--config", "c.yaml", "bench"], ["--turns", "2"])
    assert launch._split_bench(["converse", "--text", "bench"]) == (["converse", "--text", "bench"], [])
    opts = bench.parse_args(["--quick", "--turns", "2", "--first-token-ms", "150", "--out", "results/b"])
    assert opts.quick and opts.turns == 2 and opts.first_token_ms == 150 and opts.out.parts[-2:] == ("results", "b")
    with pytest.raises(SystemExit):
        bench.parse_args(["--turns", "0"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--ollama-host", "localhost:11434"])


# --- end to end -----
@pytest.mark.slow
def test_quick_bench_writes_results_table_and_chart(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "launch.py", "bench", "--quick", "--out", str(tmp_path)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    res = json.loads((tmp_path / "results.json").read_text())
    for mode in ("streaming", "classic"):
        for key, _ in bench_report.STAGES:
            assert {"n", "p50", "p95"} <= set(res["summary"][mode][key])
        assert res["summary"][mode]["voice_to_voice"]["n"] >= 1
    assert "ratio_streaming_over_classic" in res
    assert {"rtf_final_p50", "wer", "decodes"} <= set(res["stt"])
    assert "cpu_percent_of_one_core" in res["idle"] and res["memory"]["rss_peak_mb"] > 0
    assert {"cores", "cpu", "ram_gb", "python"} <= set(res["machine"])
    assert {t["name"] for t in res["targets"]} == {t[0] for t in bench_report.TARGETS}
    assert res["turns"] and all("voice_to_voice" in t["intervals"] for t in res["turns"])
    md = (tmp_path / "results.md").read_text()
    assert "| stage | streaming p50" in md and "## Targets" in md
    assert (tmp_path / "latency.png").stat().st_size > 0
    assert "## Targets" in proc.stdout  # the table is printed too


@pytest.mark.slow
@pytest.mark.sound
def test_quick_bench_on_a_real_sound_output(tmp_path: Path, pulse: dict[str, str]) -> None:
    """--speaker plays the replies through sounddevice (here the test daemon's null sink)."""
    import os

    env = {**os.environ, **pulse}
    proc = subprocess.run([sys.executable, "launch.py", "bench", "--quick", "--speaker", "--out", str(tmp_path)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["config"]["output"].startswith("SpeakerOutput")
    assert res["summary"]["streaming"]["voice_to_voice"]["n"] >= 1


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_the_turn_bench_speaks_in_voices_named_on_the_command_line() -> None:
    """`bench --turns-only --voices espeak-ng,en+f3`: voices the judge was not tuned on; an unknown one is named."""
    from app.bench_voices import named_voices

    voices = named_voices(["espeak-ng", "en+f3"])
    assert list(voices) == ["espeak-ng", "espeak-ng en+f3"]
    plain, other = (voices[v]("Set a timer for ten minutes.") for v in voices)
    assert len(plain) > 8000 and len(other) > 8000 and not np.array_equal(plain[:8000], other[:8000])
    with pytest.raises(ValueError, match="'zz'"):
        named_voices(["zz"])


def test_the_end_of_turn_models_cost_is_timed_per_call_and_reported_per_turn() -> None:
    from app.bench import TimedJudge
    from core.config import TurnConfig
    from realtime.end_of_turn import EndOfTurn

    words_only = TimedJudge(EndOfTurn(TurnConfig()))
    assert words_only.p_finished(np.zeros(1600, np.float32)) is None  # no audio model: nothing ran, none counted
    assert words_only.decide(None, "What time is it?").finished
    assert not words_only.decide(None, "milk, eggs, and").finished
    assert [c.kind for c in words_only.calls] == ["words", "words"]
    timed = TimedJudge(EndOfTurn(TurnConfig(), model=lambda audio: 0.9))  # type: ignore[arg-type]
    assert timed.p_finished(np.zeros(1600, np.float32)) == 0.9 and timed.calls[0].kind == "audio"

    res = _results()
    call = {"kind": "audio", "wall_s": 0.04, "cpu_s": 0.03}
    runs = [{"turns": [{}, {}], "judge_calls": [call, call, call, {"kind": "words", "wall_s": 1e-4, "cpu_s": 1e-4}]},
            {"turns": [{}], "judge_calls": [call]}]
    cost = bench_report.judge_cost(runs)
    assert cost is not None and cost["audio"]["calls"] == 4 and cost["audio"]["ms_p50"] == 40.0
    assert cost["audio"]["calls_per_turn_p50"] in (1.0, 1.5) and cost["words"]["calls"] == 1
    assert bench_report.judge_cost([{"turns": [{}], "judge_calls": []}]) is None  # turn.detector: off
    res["end_of_turn_cost"] = cost
    assert "- End-of-turn models per turn (p50): Smart Turn" in bench_report.render_markdown(res)
