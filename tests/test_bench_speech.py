"""The speech-quality check: its word error rate is right, and `bench --speech` runs a real voice end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app import bench_speech
from app.bench_speech import BATTERY, join_gaps, phrases_of, spoken_form, wer
from core.config import load_settings


def test_wer_counts_substitutions_deletions_insertions() -> None:
    assert wer(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert wer(["a", "b", "c", "d"], ["a", "x", "c"]) == 0.5
    assert wer(["a"], ["a", "b", "c"]) == 2
    assert wer([], []) == 0


@pytest.mark.parametrize(("heard", "expected"), [
    ("It costs $4.99.", "it costs four dollars and ninety nine cents"),
    ("She has a PhD from the USA.", "she has a phd from the usa"),
    ("the train leaves at 5:30 PM", "the train leaves at five thirty pm"),
    ("Dr. Smith, Mr. Jones", "doctor smith mister jones"),
])
def test_whisper_and_the_reference_meet_in_one_spoken_form(heard: str, expected: str) -> None:
    assert spoken_form(heard) == expected.split()


def test_every_battery_reference_is_already_in_spoken_form() -> None:
    for _reply, words in BATTERY:
        assert spoken_form(words) == words.split()


def test_the_battery_keeps_every_reply_audible() -> None:
    assert all(phrases_of(reply) for reply, _ in BATTERY)


def test_join_gaps_measure_silence_between_phrases() -> None:
    rate = 1000
    tone = np.full(100, 5000, dtype=np.int16)
    a = np.concatenate([tone, np.zeros(50, dtype=np.int16)])
    b = np.concatenate([np.zeros(20, dtype=np.int16), tone])
    assert join_gaps([a, b], rate) == [70.0]


def test_bad_voice_name_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench_speech.main(load_settings(), ["--voices", "hibary"])
    assert "give voices from" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_speech_runs_hibari_through_whisper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_speech, "BATTERY", BATTERY[:3])
    assert bench_speech.main(load_settings(), ["--voices", "hibari", "--out", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "speech.json").read_text())
    assert [(r["voice"], r["mode"]) for r in runs] == [("hibari", "before"), ("hibari", "after")]
    after = runs[1]
    assert after["wer"] < 0.25 and after["gap_ms"] <= 200 and after["first_audio_ms"] > 0
    assert "| hibari |" in (tmp_path / "speech.md").read_text()
