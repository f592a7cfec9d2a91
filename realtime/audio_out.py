"""Where the reply's audio goes: one small Protocol, several sinks at the edge.

The pipeline only ever enqueues int16 mono PCM at the output's rate, asks how much has really been played (to
know what the user heard when they interrupt), flushes on barge-in, and waits for a given sample to be heard.
That wait is pushed, not polled: each output resolves `wait_played` futures as its own clock advances (the
sound card's callback, the page's playback reports, a paced clock). The desktop speaker, the browser socket and
a WAV file all implement the same four calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import soundfile as sf


class AudioOutput(Protocol):
    """A playback sink. `enqueue` never blocks; `played_samples` counts samples heard since the last clear."""

    sample_rate: int

    def enqueue(self, audio: np.ndarray, seq: int) -> None: ...

    def clear(self) -> None: ...

    def played_samples(self) -> int: ...

    async def wait_played(self, n: int) -> int:
        """Return once `n` samples since the last clear have been heard, or at a clear; the count then."""
        ...


@runtime_checkable
class Pausable(Protocol):
    """An output that can hold its queue (a cough over the reply) and go on where it stopped."""

    def pause(self) -> bool:
        """Hold playback; False when this output cannot (a client that does not play what it is sent)."""
        ...

    def resume(self) -> None: ...


class PlayedWaiters:
    """The futures behind `wait_played`: an output calls `advance` as its played count grows (on the loop)."""

    def __init__(self) -> None:
        self._waiters: list[tuple[int, asyncio.Future[int]]] = []
        self.lowest: int | None = None  # the smallest target waited for (read by device threads to skip work)

    def add(self, n: int, played: int) -> asyncio.Future[int]:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if played >= n:
            fut.set_result(played)
        else:
            self._waiters.append((n, fut))
            self.lowest = min(t for t, _ in self._waiters)
        return fut

    def advance(self, played: int, *, everything: bool = False) -> None:
        """Resolve the waits whose target is reached (all of them with `everything`, as on a clear)."""
        keep = []
        for n, fut in self._waiters:
            if fut.done():
                continue
            if everything or played >= n:
                fut.set_result(played)
            else:
                keep.append((n, fut))
        self._waiters = keep
        self.lowest = min((t for t, _ in keep), default=None)


@runtime_checkable
class PlayedAudioTap(Protocol):
    """Optional extra of an output that drives a real device: it reports every block it hands over.

    barge_in.policy `echo_cancel` needs it (the echo canceller's reference must be what really went out, in
    step with the device clock). `fn(block, rate)` runs on the device's thread and must not block. Outputs
    without it (the browser socket: the browser cancels its own echo; files; buffers) simply lack the method.
    """

    def add_played_listener(self, fn: Callable[[np.ndarray, int], None]) -> Callable[[], None]: ...


class BufferedOutput:
    """Collects the reply instead of playing it (CLI `converse --out`, the Gradio reply player, tests).

    Everything enqueued counts as played at once: there is no listener whose patience could run out.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._chunks: list[np.ndarray] = []
        self._played = 0

    def enqueue(self, audio: np.ndarray, seq: int) -> None:
        pcm = np.asarray(audio, dtype=np.int16).reshape(-1)
        self._chunks.append(pcm)
        self._played += len(pcm)

    def clear(self) -> None:
        self._played = 0

    def played_samples(self) -> int:
        return self._played

    async def wait_played(self, n: int) -> int:
        await asyncio.sleep(0)
        return self._played

    def take(self) -> np.ndarray:
        """Return and forget everything collected so far."""
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)
        self._chunks.clear()
        return audio

    def audio(self) -> np.ndarray:
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)

    def write_wav(self, path: Path | str) -> float:
        """Write what was collected; returns its duration in seconds."""
        audio = self.audio()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), audio, self.sample_rate, subtype="PCM_16")
        return len(audio) / self.sample_rate
