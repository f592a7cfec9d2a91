"""base/audio.py: the one place audio is converted, resampled and re-framed."""

from __future__ import annotations

import numpy as np
import pytest

from base.audio import Reframer, to_float32, to_int16, to_pcm16


def test_int16_stereo_is_averaged_without_clipping() -> None:
    t = np.arange(22050) / 22050
    left = (np.sin(2 * np.pi * 440 * t) * 30000).astype(np.int16)
    stereo = np.stack([left, left], axis=1)
    mono = to_pcm16(stereo, 22050, 22050)
    assert mono.dtype == np.int16 and np.abs(mono.astype(int) - left).max() <= 1
    assert len(to_pcm16(stereo, 22050, 16000)) == 16000


def test_float_and_int16_round_trip_and_bad_types_are_named() -> None:
    x = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    assert np.array_equal(to_int16(to_float32(x)), np.array([0, 16384, -32767, 32766], dtype=np.int16))
    assert to_int16(np.array([2.0, -2.0])).tolist() == [32767, -32768]  # clipped, never wrapped
    with pytest.raises(TypeError, match="int32"):
        to_int16(np.zeros(4, dtype=np.int32))


def test_reframer_keeps_the_remainder_for_the_next_chunk() -> None:
    r = Reframer(480)
    assert r.push(np.ones(1000, dtype=np.int16)) and r.pending == 40
    frames = r.push(np.ones(920, dtype=np.int16))
    assert [len(f) for f in frames] == [480, 480] and r.pending == 0
    r.push(np.ones(10, dtype=np.int16))
    r.reset()
    assert r.pending == 0
