"""Audio helpers every layer uses: the listening rate, int16/float conversion, resampling, one re-framer.

Audio in this program is always mono. Microphone audio is int16 at `LISTEN_RATE` (what Whisper and both VADs
take); reply audio is int16 at the voice chain's rate. Conversions live here once, so clipping and scaling are
the same wherever audio crosses a boundary.
"""

from __future__ import annotations

import numpy as np
import soxr

LISTEN_RATE = 16000  # Hz: microphone audio as the listener, Whisper and the VADs take it
INT16_SCALE = 32768.0


def to_int16(pcm: np.ndarray) -> np.ndarray:
    """int16 as is; float in [-1, 1] scaled and clipped; anything else is a TypeError naming the dtype."""
    data = np.asarray(pcm).reshape(-1)
    if data.dtype == np.int16:
        return data
    if not np.issubdtype(data.dtype, np.floating):
        raise TypeError(f"audio must be int16 PCM or float in [-1, 1], got {data.dtype}")
    return np.clip(np.round(data * 32767.0), -32768, 32767).astype(np.int16)


def to_float32(pcm: np.ndarray) -> np.ndarray:
    """int16 PCM as float32 in [-1, 1) (what Whisper and Silero take)."""
    return np.asarray(pcm).astype(np.float32) / INT16_SCALE


def to_pcm16(audio: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Any float/int, mono/multichannel array to int16 mono at `dst_rate` (soxr, high quality)."""
    a = np.asarray(audio)
    if a.dtype == np.int16:
        f = to_float32(a)
    elif np.issubdtype(a.dtype, np.integer):
        f = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    else:
        f = a.astype(np.float32)
    if f.ndim == 2:  # channels are averaged after scaling, so int16 stereo never clips
        # (frames, channels) as soundfile/av give it; a (channels, frames) array has fewer rows than columns
        f = f.mean(axis=1) if f.shape[0] >= f.shape[1] else f.mean(axis=0)
    if src_rate != dst_rate and len(f):
        f = soxr.resample(f, src_rate, dst_rate, quality="HQ")
    return to_int16(f)


class Reframer:
    """Cuts a stream of arbitrary-length chunks into fixed frames; the remainder waits for the next chunk."""

    def __init__(self, frame_samples: int, dtype: type = np.int16) -> None:
        if frame_samples < 1:
            raise ValueError(f"frame_samples = {frame_samples}: must be at least 1")
        self.frame_samples = frame_samples
        self._dtype = dtype
        self._rest: np.ndarray = np.zeros(0, dtype=dtype)

    def push(self, pcm: np.ndarray) -> list[np.ndarray]:
        """The whole frames now available (each a fresh array), in order."""
        data: np.ndarray = np.asarray(pcm, dtype=self._dtype).reshape(-1)
        if len(self._rest):
            data = np.concatenate([self._rest, data])
        n = len(data) // self.frame_samples
        cut = n * self.frame_samples
        self._rest = data[cut:].copy()
        return [data[i:i + self.frame_samples].copy() for i in range(0, cut, self.frame_samples)]

    @property
    def pending(self) -> int:
        """Samples held back, waiting to complete a frame."""
        return len(self._rest)

    def reset(self) -> None:
        self._rest = np.zeros(0, dtype=self._dtype)
