"""A speaker with no device: audio "plays" in real time, so first-audible-sample timing is honest.

The benchmark (and any test that cares about timing) needs an output whose `played_samples` behaves like a
sound card's: nothing is heard before it is queued, queued phrases play back to back at `sample_rate`, and if
the queue runs dry the next phrase starts when it arrives (a gap the user would hear), not retroactively.
BufferedOutput counts everything as played at once, which would make voice-to-voice look instant and hide a
text-to-speech that cannot keep up; this class plays by the clock instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class _Segment:
    start: float  # clock time its first sample is heard
    n: int


class PacedOutput:
    """AudioOutput played against a clock (time.monotonic by default; tests pass their own).

    A "gap" is any time the queue had run dry when audio arrived, so silence between two replies counts too;
    `gap_log` says when each happened, so a caller can keep the ones inside a reply.
    """

    def __init__(self, sample_rate: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate = {sample_rate}: give the voice's rate in Hz, e.g. 22050")
        self.sample_rate = sample_rate
        self._clock = clock
        self._segments: list[_Segment] = []
        self._done = 0  # samples of segments already fully played (since the last clear)
        self.gaps = 0  # times the queue ran dry between two phrases and the next one started late
        self.gap_s = 0.0  # total silence those gaps added
        self.gap_log: list[tuple[float, float]] = []  # (clock time the late phrase started, silence before it)
        self.first_sample_at: float | None = None  # when the first sample since the last clear is heard
        self._last_end: float | None = None  # clock time the last queued sample is (or was) heard
        self._clears = 0
        self._paused_at: float | None = None  # clock time playback was paused; None while playing

    def _end(self) -> float | None:
        """Clock time the queued audio finishes; None when nothing is queued."""
        if not self._segments:
            return None
        last = self._segments[-1]
        return last.start + last.n / self.sample_rate

    def _retire(self, t: float) -> None:
        """Fold segments that have finished playing into the running count (keeps the list short)."""
        while self._segments and self._segments[0].start + self._segments[0].n / self.sample_rate <= t:
            self._done += self._segments.pop(0).n

    # -- AudioOutput --------------------------------------------------------------------------------
    def enqueue(self, audio: np.ndarray, seq: int) -> None:
        """Queue PCM; it starts when the audio already queued ends, or now if the queue has run dry."""
        n = int(np.asarray(audio).reshape(-1).shape[0])
        if n == 0:
            return
        t = self._now()
        self._retire(t)
        last = self._last_end
        start = last if last is not None and last > t else t
        if last is not None and last < t:  # the phrase before had finished: the user heard a gap
            self.gaps += 1
            self.gap_s += t - last
            self.gap_log.append((t, t - last))
        if self.first_sample_at is None:
            self.first_sample_at = start
        self._segments.append(_Segment(start, n))
        self._last_end = start + n / self.sample_rate

    def clear(self) -> None:
        """Barge-in: silence at once, drop the queue, restart the played count."""
        self._segments.clear()
        self._paused_at = None  # a new reply plays at once
        self._done = 0
        self._clears += 1
        self.first_sample_at = None
        self._last_end = None

    def _now(self) -> float:
        """The playback clock: it stands still while paused."""
        return self._paused_at if self._paused_at is not None else self._clock()

    def pause(self) -> bool:
        """Hold playback where it is (the user coughed or said "mhm"): nothing more is heard until resume."""
        if self._paused_at is None:
            self._paused_at = self._clock()
        return True

    def resume(self) -> None:
        """Go on from the sample where playback was held: everything queued moves later by the pause."""
        if self._paused_at is None:
            return
        shift = self._clock() - self._paused_at
        self._paused_at = None
        for seg in self._segments:
            seg.start += shift
        if self._last_end is not None:
            self._last_end += shift

    def played_samples(self) -> int:
        t = self._now()
        self._retire(t)
        playing = 0
        if self._segments and t > self._segments[0].start:
            seg = self._segments[0]
            playing = min(seg.n, int((t - seg.start) * self.sample_rate + 1e-6))  # float-safe floor
        return self._done + playing

    def pending_samples(self) -> int:
        """Samples queued but not yet heard."""
        t = self._now()
        self._retire(t)
        return sum(s.n for s in self._segments) - (self.played_samples() - self._done)

    def heard_at(self, n: int) -> float | None:
        """Clock time sample `n` (since the last clear) is heard; None if it is not queued yet."""
        done = self._done
        for seg in self._segments:
            if n <= done + seg.n:
                return seg.start + (n - done) / self.sample_rate
            done += seg.n
        return None

    async def wait_played(self, n: int) -> int:
        """Sleep until sample `n` is heard by the clock (or until it is no longer queued: a clear)."""
        epoch = self._clears
        while self._clears == epoch and (at := self.heard_at(n)) is not None:
            if self._paused_at is not None:  # held: the clock of the queue stands still
                await asyncio.sleep(0.02)
                continue
            if (left := at - self._clock()) <= 0:
                break
            await asyncio.sleep(left)
        return self.played_samples()

    async def wait_done(self) -> None:
        """Return once everything queued has been heard (audio queued meanwhile is waited for too)."""
        while (end := self._end()) is not None and ((left := end - self._clock()) > 0 or self._paused_at is not None):
            await asyncio.sleep(min(max(left, 0.02), 0.05))
