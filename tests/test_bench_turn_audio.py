"""`bench --turn-audio`: the audio model alone, finished statements against fragments."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app import bench_turn_audio as bta
from base.audio import LISTEN_RATE
from core.config import load_settings


def speech(seconds: float) -> np.ndarray:
    """A 220 Hz tone with 50 ms of silence either side, as a synthetic voice's WAV has."""
    t = np.arange(int(seconds * LISTEN_RATE)) / LISTEN_RATE
    pad = np.zeros(LISTEN_RATE // 20, np.int16)
    return np.concatenate([pad, (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16), pad])


def trailing_silence_s(audio: np.ndarray) -> float:
    loud = np.nonzero(np.abs(audio) > 0.01)[0]
    return (len(audio) - 1 - loud[-1]) / LISTEN_RATE


def test_the_model_hears_the_speech_from_its_start_then_each_silence_after_its_last_sound() -> None:
    heard: list[np.ndarray] = []

    def model(audio: np.ndarray) -> float:
        heard.append(audio)
        return trailing_silence_s(audio)

    curve = bta.p_curve(model, speech(0.5))
    # the voice's own trailing pad is silence too: counted from the last sound
    assert curve == pytest.approx([ms / 1000 for ms in bta.SILENCES_MS], abs=0.002)
    first = heard[0]
    assert first.dtype == np.float32 and np.abs(first).max() <= 1.0
    lead = np.nonzero(np.abs(first) > 0.01)[0][0] / LISTEN_RATE
    assert lead == pytest.approx(bta.LEAD_S + 0.05, abs=0.002)  # the listener's lead-in, then the clip


def test_auc_is_chance_for_overlap_and_one_for_a_clean_split() -> None:
    assert bta.auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert bta.auc([0.1, 0.2], [0.9, 0.8]) == 0.0
    assert bta.auc([0.5, 0.5], [0.5, 0.5]) == 0.5
    assert bta.auc([0.9, 0.4], [0.5]) == 0.5
    assert np.isnan(bta.auc([], [0.5]))


def test_summary_and_table_give_each_silence_its_shares_and_auc() -> None:
    n = len(bta.SILENCES_MS)
    rows = [bta.Row("v", "finished", "Yes.", [0.9] * n), bta.Row("v", "finished", "No.", [0.2] * n),
            bta.Row("v", "fragment", "I think", [0.6] * n), bta.Row("v", "fragment", "So", [0.1] * n)]
    s = bta.summary(rows, 0.5)
    assert [x["silence_ms"] for x in s] == list(bta.SILENCES_MS)
    assert s[0] == {"silence_ms": 100, "finished_called_finished": 0.5, "fragments_called_finished": 0.5,
                    "auc": 0.75}
    table = bta.render(rows, 0.5)
    assert "| 100 ms | 50% | 50% | 0.75 |" in table and "1 voice(s) (v)" in table


def test_a_missing_model_or_voice_is_named_with_its_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is installed by `make setup`")
    settings = load_settings()
    turn = settings.turn.model_copy(update={"model_path": str(tmp_path / "x")})
    no_model = settings.model_copy(update={"turn": turn})
    assert bta.main(no_model, ["--turn-audio", "--out", str(tmp_path)]) == 2
    assert "make turn-model" in capsys.readouterr().out
    if not (bta.PROJECT_ROOT / settings.turn.model_path).exists():
        pytest.skip("the Smart Turn model comes with `make turn-model`")
    assert bta.main(settings, ["--turn-audio", "--voices", "xx-nope", "--out", str(tmp_path)]) == 2
    assert "espeak-ng has no voice 'xx-nope'" in capsys.readouterr().out
    assert not (tmp_path / "turn_audio.json").exists()
