"""What every voice promises: text in, int16 mono PCM at one agreed rate out, or a TtsError saying why not.

One rate for every voice means the player and the browser never care which voice spoke, and the fallback
chain can switch voices between phrases without a click or a pitch change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from base.status import ComponentStatus


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

    def __init__(self, *, sample_rate: int) -> None:
        self.sample_rate = sample_rate

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
        return Speech(pcm, self.sample_rate, self.name)

    @abstractmethod
    async def _synthesize_impl(self, text: str) -> np.ndarray:
        """int16 mono PCM at `self.sample_rate` for `text`; raise (any exception) when it cannot."""

    @abstractmethod
    async def probe(self) -> ComponentStatus: ...

    async def aclose(self) -> None:
        return None
