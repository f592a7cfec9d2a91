"""What every voice promises: text in, int16 mono PCM at one agreed rate out, or a TtsError saying why not.

One rate for every voice means the player and the browser never care which voice spoke, and the fallback
chain can switch voices between phrases without a click or a pitch change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import soxr


@dataclass(frozen=True)
class Speech:
    audio: np.ndarray  # int16 mono at `sample_rate`
    sample_rate: int
    provider: str  # the voice that made it: "edge", "coqui", "piper", "pyttsx3"
    failures: tuple[tuple[str, str], ...] = ()  # (provider, reason) of voices that failed for this phrase

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate if self.sample_rate else 0.0


@dataclass(frozen=True)
class VoiceStatus:
    name: str
    ok: bool
    detail: str
    fix: str = ""  # the exact thing to do, e.g. "pip install '.[coqui]'"


class TtsError(Exception):
    """A voice could not speak this phrase; the message says why (and, where known, how to fix it)."""


@runtime_checkable
class TextToSpeech(Protocol):
    name: str

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Speech: ...

    async def probe(self) -> VoiceStatus: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Preloadable(Protocol):
    """A voice whose model is worth loading before the first phrase (Piper: 2-4 s)."""

    async def preload(self) -> None: ...


def to_pcm16(audio: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Any float/int, mono/multichannel array to int16 mono at `dst_rate` (soxr, high quality)."""
    a = np.asarray(audio)
    if a.ndim == 2:
        # (frames, channels) as soundfile/av give it; a (channels, frames) array has fewer rows than columns
        a = a.mean(axis=1) if a.shape[0] >= a.shape[1] else a.mean(axis=0)
    if a.dtype == np.int16:
        f = a.astype(np.float32) / 32768.0
    elif np.issubdtype(a.dtype, np.integer):
        f = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    else:
        f = a.astype(np.float32)
    if src_rate != dst_rate and len(f):
        f = soxr.resample(f, src_rate, dst_rate, quality="HQ")
    return np.clip(np.round(f * 32767.0), -32768, 32767).astype(np.int16)
