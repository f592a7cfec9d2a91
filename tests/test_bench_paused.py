"""The turn-taking bench's paused clips spoken as one utterance: the silence is where the first part ends, and as
long as asked (espeak-ng's SSML break, Piper's phoneme alignments)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from app.bench_turns import PAUSED, TWO_PAUSES, TWO_PAUSES_S
from app.bench_voices import Say, SayPaused, espeak_say, pause_point, paused_voices, piper_say
from base.audio import LISTEN_RATE


def pauses(audio: np.ndarray, quiet: int = 100, min_s: float = 0.4) -> list[tuple[float, float]]:
    """(start from the first sound, length) of each run of 10 ms frames under `quiet`, at least `min_s` long,
    inside the clip."""
    frame = LISTEN_RATE // 100
    peaks = np.abs(audio[: len(audio) // frame * frame].astype(np.int32)).reshape(-1, frame).max(axis=1)
    loud = np.nonzero(peaks >= quiet)[0]
    runs, run = [], 0
    for i in range(loud[0], loud[-1] + 1):
        if peaks[i] < quiet:
            run += 1
            continue
        if run >= min_s * 100:
            runs.append(((i - run - loud[0]) / 100, run / 100))
        run = 0
    return runs


def spoken_length(audio: np.ndarray, quiet: int = 100) -> float:
    loud = np.nonzero(np.abs(audio.astype(np.int32)) >= quiet)[0]
    return float(loud[-1] - loud[0]) / LISTEN_RATE


def test_the_pause_goes_into_the_gap_after_the_words_before_it() -> None:
    chunk = [("^", 100), ("h", 50), ("i", 50), (" ", 40), ("j", 60), (" ", 200), ("k", 70), ("$", 10)]
    assert pause_point([chunk], 1) == (100 + 50 + 50 + 20, 40)
    assert pause_point([chunk], 2) == (100 + 50 + 50 + 40 + 60 + 100, 200)
    # Piper speaks sentence by sentence: the end of one is a word gap too
    assert pause_point([[("a", 30)], [("b", 20), (" ", 10), ("c", 5)]], 1) == (30, 0)
    assert pause_point([[("a", 30)], [("b", 20), (" ", 10), ("c", 5)]], 2) == (55, 10)
    with pytest.raises(ValueError, match="5 word gaps"):
        pause_point([chunk, chunk], 6)


def _check(voice: str, say: SayPaused, alone: Say) -> None:
    for before, after, pause_s in PAUSED:
        [(at, silence)] = pauses(say([before, after], pause_s))
        assert pause_s - 0.1 <= silence <= pause_s + 0.2, (voice, before, silence)
        first = spoken_length(alone(before))
        assert 0.7 * first <= at <= first + 0.15, (voice, before, at, first)
    for parts in TWO_PAUSES[:4]:
        found = pauses(say(parts, TWO_PAUSES_S))
        assert len(found) == 2, (voice, parts, found)
        assert all(TWO_PAUSES_S - 0.1 <= silence <= TWO_PAUSES_S + 0.2 for _, silence in found), (voice, parts)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_espeak_ng_pauses_inside_one_utterance_after_the_first_part() -> None:
    _check("espeak-ng", paused_voices(["espeak-ng"])["espeak-ng"], espeak_say)


def test_piper_pauses_inside_one_utterance_after_the_first_part() -> None:
    voices = paused_voices(["piper"])
    assert "piper" in voices, "Piper could not give phoneme alignments (the onnx package, the shipped voice)"
    _check("piper", voices["piper"], piper_say())
