"""What every voice promises: text in, int16 mono PCM at one agreed rate out, or a TtsError saying why not.

One rate for every voice means the player and the browser never care which voice spoke, and the fallback
chain can switch voices between phrases without a click or a pitch change. One silence policy for every voice
(`fit_silence`) means phrases join like one utterance: each voice pads its own amount of silence around a
phrase (Piper ~40 ms before and ~130 ms after, hibari 300-450 ms on each side), which between phrases is
dead air; the base class trims it to a natural pause once, for all of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from base.status import ComponentStatus

LEAD_MS = 15  # silence kept before a phrase: enough not to clip a soft first consonant
DEFAULT_GAP_MS = 180  # pause after a sentence (a clause gets half): about what voices leave inside one utterance
FLOOR_DB = -48.0  # a 5 ms frame this far below the loudest frame is silence
_FRAME_S = 0.005
_SENTENCE_END = ".!?…。！？"


def sound_span(audio: np.ndarray, rate: int, floor_db: float = FLOOR_DB) -> tuple[int, int] | None:
    """(first, end) sample of the sound in `audio`, by 5 ms frames; None when it is all silence."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    frame = max(1, int(rate * _FRAME_S))
    n = len(x) // frame
    if n == 0:
        return None
    rms = np.sqrt((x[:n * frame].reshape(n, frame) ** 2).mean(axis=1))
    peak = float(rms.max())
    if peak <= 0:
        return None
    loud = np.nonzero(rms > peak * 10 ** (floor_db / 20))[0]
    return int(loud[0]) * frame, min(len(x), (int(loud[-1]) + 1) * frame)


def fit_silence(audio: np.ndarray, rate: int, *, lead_ms: float, trail_ms: float) -> np.ndarray:
    """`audio` with exactly `lead_ms` of silence before its sound and `trail_ms` after (trimmed or padded)."""
    pcm = np.asarray(audio).reshape(-1)
    span = sound_span(pcm, rate)
    if span is None:
        return pcm
    start, end = span
    lead = int(rate * lead_ms / 1000)
    trail = int(rate * trail_ms / 1000)
    head = pcm[max(0, start - lead):start]
    tail = pcm[end:end + trail]
    pad_head = np.zeros(lead - len(head), dtype=pcm.dtype)
    pad_tail = np.zeros(trail - len(tail), dtype=pcm.dtype)
    return np.concatenate([pad_head, head, pcm[start:end], tail, pad_tail])


def pause_after_ms(text: str, gap_ms: float) -> float:
    """The silence to leave after a phrase: a full gap after a sentence, half after a clause or a cut."""
    end = text.rstrip().rstrip("\"')]}”’»」』）")[-1:]
    return gap_ms if end and end in _SENTENCE_END else gap_ms / 2


@dataclass(frozen=True)
class Speech:
    audio: np.ndarray  # int16 mono at `sample_rate`
    sample_rate: int
    provider: str  # the voice that made it: "edge", "coqui", "piper", "pyttsx3"
    failures: tuple[tuple[str, str], ...] = ()  # (provider, reason) of voices that failed for this phrase

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate if self.sample_rate else 0.0


class TtsError(Exception):
    """A voice could not speak this phrase; the message says why (and, where known, how to fix it)."""


@runtime_checkable
class TextToSpeech(Protocol):
    @property
    def name(self) -> str: ...

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Speech: ...

    async def probe(self) -> ComponentStatus: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Preloadable(Protocol):
    """A voice whose model is worth loading before the first phrase (Piper: 2-4 s)."""

    async def preload(self) -> None: ...


class Voice(ABC):
    """Base of every voice: the public `synthesize` does the shared checks once, `_synthesize_impl` the work.

    Any failure comes out as one TtsError naming the voice (plus `failure_hint`, the usual fix), and empty
    audio is an error, so the fallback chain can treat every voice alike.
    """

    name: ClassVar[str]
    failure_hint: ClassVar[str] = ""

    def __init__(self, *, sample_rate: int, gap_ms: float | None = DEFAULT_GAP_MS) -> None:
        self.sample_rate = sample_rate
        self.gap_ms = gap_ms  # None keeps the voice's own silence (the benchmark's "before" figure)

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Speech:
        try:
            audio = await self._synthesize_impl(text)
        except TtsError:
            raise
        except Exception as exc:
            hint = f" ({self.failure_hint})" if self.failure_hint else ""
            raise TtsError(f"{self.name} failed: {type(exc).__name__}: {exc or 'no detail'}{hint}") from exc
        pcm = np.asarray(audio).reshape(-1)
        if not len(pcm):
            raise TtsError(f"{self.name} produced no audio for {text[:40]!r}")
        if self.gap_ms is not None:
            lead = min(LEAD_MS, self.gap_ms)
            pcm = fit_silence(pcm, self.sample_rate, lead_ms=lead,
                              trail_ms=max(0.0, pause_after_ms(text, self.gap_ms) - lead))
        return Speech(pcm, self.sample_rate, self.name)

    @abstractmethod
    async def _synthesize_impl(self, text: str) -> np.ndarray:
        """int16 mono PCM at `self.sample_rate` for `text`; raise (any exception) when it cannot."""

    @abstractmethod
    async def probe(self) -> ComponentStatus: ...

    async def aclose(self) -> None:
        return None
