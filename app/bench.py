"""`python launch.py bench`: how long after the user stops talking does the answer start?

Real speech is fed in real time, 30 ms frame by frame as a microphone would, through the real VAD, Whisper,
sentence splitter and Piper, against the scripted Ollama server at a desktop GPU's speed (or a real Ollama).
The reply "plays" on PacedOutput, which counts samples by the clock like a speaker, so voice-to-voice ends at
the first audible sample. Streaming and classic (`streaming: false`) run interleaved in the same process on
the same models, so machine noise hits both alike. Every figure comes from the agent's own Latency marks
(base.marks): the benchmark measures the code users run, not a copy of it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import json
import logging
import re
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app import bench_report as report
from app.bench_clips import Clip, default_clips, folder_clips
from app.ollama_sim import OllamaSim, Reply
from base.events import Event, FinalTranscript, Latency, SpeechStarted, TtsAudio, TurnDone, now
from core.config import PROJECT_ROOT, Settings
from realtime.audio_out import AudioOutput, BufferedOutput

log = logging.getLogger(__name__)

# A scripted 3-sentence answer, worded like a chat model's spoken reply.
REPLY_TEXT = ("That sounds like a good plan, and I can help you with it. Start with the most important part "
              "first, and keep the rest simple for now. If you tell me a little more, I can give you a more "
              "specific suggestion.")
@dataclass
class BenchOptions:
    clips_dir: Path | None = None
    turns: int | None = None
    quick: bool = False
    out: Path = PROJECT_ROOT / "data" / "bench"
    first_token_ms: float = 200.0
    tokens_per_s: float = 30.0
    ollama_host: str | None = None
    model: str | None = None
    speaker: bool = False
    idle_s: float = 10.0
    embedder: bool = True


@dataclass
class Decode:
    audio_s: float
    decode_s: float
    final: bool


@dataclass
class TimedSTT:
    """Wraps the real Whisper to record each decode's time against its audio length (real-time factor)."""

    inner: Any
    decodes: list[Decode] = field(default_factory=list)

    def transcribe(self, audio: np.ndarray, *, final: bool = False, prompt: str | None = None,
                   give_up: Callable[[], bool] | None = None) -> str:
        t0 = time.perf_counter()
        # the pause decode's prompt and a partial's checkpoint go through: the bench decodes as the app does
        kwargs = {k: v for k, v in (("prompt", prompt), ("give_up", give_up)) if v is not None}
        text: str = self.inner.transcribe(audio, final=final, **kwargs)
        self.decodes.append(Decode(len(audio) / 16000, time.perf_counter() - t0, final))
        return text


@dataclass
class JudgeCall:
    kind: str  # "audio" (Smart Turn) or "words" (the rules, then the words' model where they decide)
    wall_s: float
    cpu_s: float  # the calling thread's CPU time: what the call cost the machine, not what it waited for


@dataclass
class TimedJudge:
    """Wraps the end-of-turn judge to record what each call costs, for the report's per-turn model cost."""

    inner: Any
    calls: list[JudgeCall] = field(default_factory=list)

    def _timed(self, kind: str, fn: Callable[..., Any], *args: Any) -> Any:
        t0, c0 = time.perf_counter(), time.thread_time()
        out = fn(*args)
        if kind != "audio" or out is not None:  # None: no audio model, nothing ran
            self.calls.append(JudgeCall(kind, time.perf_counter() - t0, time.thread_time() - c0))
        return out

    def p_finished(self, audio: np.ndarray) -> float | None:
        out: float | None = self._timed("audio", self.inner.p_finished, audio)
        return out

    def needs_audio(self, text: str) -> bool:
        return bool(self.inner.needs_audio(text))

    def decide(self, p_audio: float | None, text: str) -> Any:
        return self._timed("words", self.inner.decide, p_audio, text)


# --- set-up --------------------------------------------------------------------------------------------
# The voices that work offline out of the box: Edge needs the network and Coqui a downloaded model, so with
# them in the chain the bench would time a failure, not a voice.
OFFLINE_VOICES = ("hibari", "piper", "pyttsx3")


def bench_settings(settings: Settings, host: str, model: str, db_path: Path, streaming: bool) -> Settings:
    """The user's settings with the bench's LLM, the chain's offline voices, a scratch history and a mode."""
    chain = [v for v in settings.tts.chain if v in OFFLINE_VOICES] or ["piper", "pyttsx3"]
    return settings.model_copy(update={
        "streaming": streaming,
        "ollama": settings.ollama.model_copy(update={"host": host, "model": model}),
        "tts": settings.tts.model_copy(update={"chain": chain}),
        "memory": settings.memory.model_copy(update={"db_path": str(db_path)}),
    })


async def _warm_up(engines: Any) -> None:
    """One typed turn on an instant output, not counted: connections open, Piper's first phrase is paid."""
    from realtime.voice_agent import VoiceAgent

    agent = VoiceAgent(engines, BufferedOutput(engines.settings.tts.sample_rate), listen=False)
    await agent.submit_text("Hello, are you there?")
    await asyncio.wait_for(agent.wait_idle(), 120)
    await agent.aclose()


# --- one run of a clip -------------------------------------------------------------------------------------
async def run_clip(engines: Any, clip: Clip, mode: str, output: AudioOutput, stt: TimedSTT,
                   judge: TimedJudge) -> dict[str, Any]:
    """Play `clip` into a fresh agent in real time; returns the run with one record per reply turn."""
    from realtime.audio_in import FileSource
    from realtime.paced_output import PacedOutput
    from realtime.voice_agent import VoiceAgent

    silence_s = engines.settings.vad.silence_ms / 1000
    events: list[Event] = []
    agent = VoiceAgent(engines, output)
    agent.subscribe(events.append)
    first_decode, first_call = len(stt.decodes), len(judge.calls)
    source = FileSource(clip.path, speed=1.0, tail_silence_s=silence_s + 1.0)
    clip.duration_s = round(source.duration_s - silence_s - 1.0, 2)
    try:
        await source.run(agent.push_audio)
        await asyncio.wait_for(agent.end_of_input(), 120)
    finally:
        await agent.aclose()
    finals = {e.turn_id: e.text for e in events if isinstance(e, FinalTranscript)}
    done = {e.turn_id: e.interrupted for e in events if isinstance(e, TurnDone)}
    voices = {e.turn_id: e.provider for e in events if isinstance(e, TtsAudio)}
    turns: list[dict[str, Any]] = []
    for ev in (e for e in events if isinstance(e, Latency)):
        iv = dict(ev.intervals)
        # the end of turn: judged (the listener's decision) or the fixed endpoint silence
        endpoint_s = min(iv.get("eos_to_decision", silence_s), iv.get("eos_to_request", silence_s))
        if "eos_to_final" in iv and "eos_to_decision" not in iv:
            iv["final_lag"] = round(iv["eos_to_final"] - silence_s, 3)
        if "voice_to_voice" in iv and "request_to_first_phrase" in iv:
            llm_s = iv["request_to_first_phrase"]
            iv["pipeline_overhead"] = round(iv["voice_to_voice"] - endpoint_s - llm_s, 3)
        turns.append({"mode": mode, "clip": clip.path.name, "turn_id": ev.turn_id,
                      "transcript": finals.get(ev.turn_id, ""), "interrupted": done.get(ev.turn_id, False),
                      "voice": voices.get(ev.turn_id), "intervals": iv, "marks": ev.marks, "gaps": 0,
                      "gap_s": 0.0})
    if isinstance(output, PacedOutput):  # silence inside a reply (not between two replies) is a gap heard
        for t in turns:
            m = t["marks"]
            inside = [s for at, s in output.gap_log if m.get("first_played", at) < at <= m.get("done", at)]
            t["gaps"], t["gap_s"] = len(inside), round(sum(inside), 3)
    transcript = " ".join(finals.values())
    errors, ref_words = report.word_errors(clip.reference, transcript) if clip.reference else (0, 0)
    return {"mode": mode, "clip": clip.path.name, "transcript": transcript, "reference": clip.reference,
            "wer": report.wer(clip.reference, transcript) if clip.reference else None,
            "word_errors": errors, "reference_words": ref_words, "turns": turns,
            "decodes": [dataclasses.asdict(d) for d in stt.decodes[first_decode:]],
            "judge_calls": [dataclasses.asdict(c) for c in judge.calls[first_call:]]}


async def measure_idle(engines: Any, seconds: float) -> dict[str, Any]:
    """Process CPU time while the listener hears `seconds` of quiet room noise in real time (% of a core)."""
    from base.audio import LISTEN_RATE as SAMPLE_RATE
    from realtime.audio_in import FRAME_SAMPLES
    from realtime.paced_output import PacedOutput
    from realtime.voice_agent import VoiceAgent

    agent = VoiceAgent(engines, PacedOutput(engines.settings.tts.sample_rate))
    starts: list[Event] = []
    agent.subscribe(lambda e: starts.append(e) if isinstance(e, SpeechStarted) else None)
    rng = np.random.default_rng(7)  # about -60 dBFS of noise: a quiet room, not digital zeros
    noise = np.clip(rng.normal(0, 30, int(seconds * SAMPLE_RATE)), -32768, 32767).astype(np.int16)
    loop = asyncio.get_running_loop()
    cpu0, t0 = time.process_time(), loop.time()
    for i, pos in enumerate(range(0, len(noise), FRAME_SAMPLES)):
        await asyncio.sleep(max(0.0, t0 + i * FRAME_SAMPLES / SAMPLE_RATE - loop.time()))
        agent.push_audio(noise[pos:pos + FRAME_SAMPLES])
    cpu, wall = time.process_time() - cpu0, loop.time() - t0
    await agent.aclose()
    return {"seconds": round(wall, 2), "cpu_s": round(cpu, 3),
            "cpu_percent_of_one_core": round(100 * cpu / wall, 2), "false_starts": len(starts)}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def measure_memory(loaded: list[str], embedder: bool) -> dict[str, Any]:
    """Peak RSS with Whisper and the voices, then with the memory embedder (MiniLM) loaded too."""
    without = peak_rss_mb()
    out: dict[str, Any] = {"rss_peak_mb_without_embedder": without, "rss_peak_mb": without,
                           "loaded": list(loaded), "embedder": "not loaded (--no-embedder or --quick)"}
    if embedder:
        from core.embeddings import EmbedderUnavailable, MiniLMEmbedder

        t0 = time.perf_counter()
        try:
            await asyncio.to_thread(MiniLMEmbedder().embed, ["Remember that my sister loves gardening."])
        except EmbedderUnavailable as exc:
            out["embedder"] = f"unavailable: {exc}"
        else:
            out["embedder"] = f"MiniLM loaded and used in {time.perf_counter() - t0:.1f} s"
            out["loaded"].append("MiniLM embedder (sentence-transformers, torch)")
            out["rss_peak_mb"] = peak_rss_mb()
    return out


# --- the whole benchmark ---------------------------------------------------------------------------------
async def run(settings: Settings, opts: BenchOptions) -> dict[str, Any]:
    from app.wiring import load_engines
    from core.llm import OllamaChat
    from realtime.paced_output import PacedOutput

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        clips = folder_clips(opts.clips_dir) if opts.clips_dir else default_clips(tmp, opts.quick)
        if not clips:
            raise FileNotFoundError("no clips to play: install espeak-ng or pass --clips DIR")
        n_turns = opts.turns or (1 if opts.quick else len(clips))
        if opts.ollama_host:
            host, model = opts.ollama_host, opts.model or settings.ollama.model
            llm: dict[str, Any] = {"kind": "ollama", "host": host, "model": model,
                                   "reply_sentences": "the model's"}
        else:
            sim = stack.enter_context(OllamaSim(default=Reply(REPLY_TEXT), tokens_per_s=opts.tokens_per_s,
                                                first_token_s=opts.first_token_ms / 1000))
            host, model = sim.url, "mistral"
            llm = {"kind": "sim", "first_token_ms": opts.first_token_ms, "tokens_per_s": opts.tokens_per_s,
                   "reply_sentences": len(re.findall(r"[.!?](?:\s|$)", REPLY_TEXT))}
        base = bench_settings(settings, host, model, tmp / "history.db", streaming=True)
        if opts.ollama_host:
            ok, detail, fix = await OllamaChat(base.ollama).status()
            if not ok:
                raise ConnectionError(f"--ollama-host {host}: {detail} ({fix})")
        print(f"loading models; {len(clips)} clip(s), {n_turns} turn(s) per mode, LLM {llm}", flush=True)
        loaded = await load_engines(base, listen=True, tools=False)
        stt, judge = TimedSTT(loaded.stt), TimedJudge(loaded.end_of_turn)
        timed_judge = judge if loaded.end_of_turn is not None else None
        classic = base.model_copy(update={"streaming": False})
        engines = {"streaming": dataclasses.replace(loaded, stt=stt, end_of_turn=timed_judge),
                   "classic": dataclasses.replace(loaded, stt=stt, end_of_turn=timed_judge, settings=classic)}
        speaker = None
        if opts.speaker:
            from realtime.speaker import SpeakerOutput

            speaker = SpeakerOutput(base.audio, base.tts.sample_rate)
            await speaker.start()
        try:
            await _warm_up(engines["streaming"])
            runs = []
            for i in range(n_turns):
                clip = clips[i % len(clips)]
                for mode in report.MODES if i % 2 == 0 else report.MODES[::-1]:  # neither mode always first
                    output: AudioOutput = speaker or PacedOutput(base.tts.sample_rate, clock=now)
                    r = await run_clip(engines[mode], clip, mode, output, stt, judge)
                    runs.append(r)
                    v2v = [t["intervals"].get("voice_to_voice") for t in r["turns"] if not t["interrupted"]]
                    print(f"[{i + 1}/{n_turns}] {mode:<9} {clip.path.name:<16} v2v {v2v} "
                          f"heard {r['transcript']!r}", flush=True)
                    await asyncio.sleep(0.3)
            idle_s = min(opts.idle_s, 3.0) if opts.quick else opts.idle_s
            idle = await measure_idle(engines["streaming"], idle_s)
            voices = sorted({t["voice"] for r in runs for t in r["turns"] if t["voice"]})
            names = [f"Whisper {base.stt.model} ({base.stt.compute_type})"] + [f"{v} voice" for v in voices]
            memory = await measure_memory(names, opts.embedder and not opts.quick)
        finally:
            if speaker is not None:
                await speaker.stop()
            await loaded.aclose()
            loaded.history.close()
        config = {
            "turns_per_mode": n_turns, "silence_ms": base.vad.silence_ms, "vad_engine": base.vad.engine,
            "end_of_turn": None if base.turn.detector == "off" else (
                f"{base.turn.detector}, judged after {base.turn.judge_after_ms} ms of silence, turn ends "
                f"{base.turn.finished_silence_ms} ms (finished) / {base.turn.unfinished_silence_ms} ms (unfinished)"),
            "stt_model": base.stt.model, "stt_beams": f"{base.stt.beam_size}/{base.stt.final_beam_size}",
            "tts_chain": list(base.tts.chain), "llm": llm,
            "reply_text": None if opts.ollama_host else REPLY_TEXT,
            "output": ("SpeakerOutput (sound card)" if opts.speaker
                       else "PacedOutput (real-time clock, no device buffer)"),
            "feed": "real time, 30 ms frames"}
        clip_info = [{"name": c.path.name, "duration_s": c.duration_s, "reference": c.reference}
                     for c in clips]
        return report.assemble(runs, clip_info, config, idle, memory)


def write_outputs(results: dict[str, Any], out: Path) -> str:
    """results.json, results.md, latency.png in `out`; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=1, ensure_ascii=False) + "\n"
    (out / "results.json").write_text(text, encoding="utf-8")
    md = report.render_markdown(results)
    (out / "results.md").write_text(md, encoding="utf-8")
    report.plot(results, out / "latency.png")
    return md


def parse_args(argv: list[str]) -> BenchOptions:
    p = argparse.ArgumentParser(prog="launch.py bench", description="Latency benchmark: streaming, classic.")
    p.add_argument("--clips", type=Path, help="folder of speech clips (default: ../shared/audio + espeak-ng "
                   "questions); references from <clip>.txt or the folder's README table")
    p.add_argument("--turns", type=int, help="turns per mode (default: one per clip)")
    p.add_argument("--quick", action="store_true", help="one short clip, one turn per mode (for tests)")
    p.add_argument("--out", type=Path, default=BenchOptions.out, help="output folder (default data/bench)")
    p.add_argument("--first-token-ms", type=float, default=200.0, help="simulated LLM time to first token")
    p.add_argument("--tokens-per-s", type=float, default=30.0, help="simulated LLM speed")
    p.add_argument("--ollama-host", help="benchmark against a real Ollama (URL) instead of the simulator")
    p.add_argument("--model", help="model for --ollama-host (default: ollama.model from the config)")
    p.add_argument("--speaker", action="store_true", help="play on the sound card instead of a paced output")
    p.add_argument("--idle-s", type=float, default=10.0, help="seconds of silence for the idle CPU figure")
    p.add_argument("--no-embedder", action="store_true", help="leave the memory embedder out of RSS")
    p.add_argument("--speech", action="store_true", help="run the speech-quality check instead (app/bench_speech.py)")
    a = p.parse_args(argv)
    if a.turns is not None and a.turns < 1:
        p.error(f"--turns {a.turns}: give at least 1")
    if a.first_token_ms < 0 or a.tokens_per_s <= 0:
        p.error("--first-token-ms must be >= 0 and --tokens-per-s > 0")
    if a.idle_s <= 0:
        p.error(f"--idle-s {a.idle_s}: give a positive number of seconds")
    if a.ollama_host and not a.ollama_host.startswith(("http://", "https://")):
        p.error(f"--ollama-host {a.ollama_host}: give a URL such as http://127.0.0.1:11434")
    out = a.out if a.out.is_absolute() else Path.cwd() / a.out
    return BenchOptions(clips_dir=a.clips, turns=a.turns, quick=a.quick, out=out,
                        first_token_ms=a.first_token_ms, tokens_per_s=a.tokens_per_s,
                        ollama_host=a.ollama_host, model=a.model, speaker=a.speaker, idle_s=a.idle_s,
                        embedder=not a.no_embedder)


def main(settings: Settings, argv: list[str]) -> int:
    """Entry point of `python launch.py bench ...`; returns the exit code."""
    for flag, other in (("--sessions", "bench_load"), ("--speech", "bench_speech"),  # the other benchmarks
                        ("--turns-only", "bench_turns"), ("--turn-audio", "bench_turn_audio")):
        if any(a == flag or a.startswith(flag + "=") for a in argv):
            return int(importlib.import_module(f"app.{other}").main(settings, argv))
    opts = parse_args(argv)
    for noisy in ("faster_whisper", "httpx"):  # one line per decode / request would bury the progress lines
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        results = asyncio.run(run(settings, opts))
    except (FileNotFoundError, ConnectionError, ValueError) as exc:
        print(f"bench: {exc}")
        return 2
    md = write_outputs(results, opts.out)
    print(md)
    print(f"written: {opts.out / 'results.json'}, {opts.out / 'results.md'}, {opts.out / 'latency.png'}")
    return 0
