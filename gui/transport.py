"""The socket transport: one writer per WebSocket, and the browser as an AudioOutput.

Reply audio goes down the socket and the page says how much it really played.

The pipeline needs to know what the user actually heard (to cut the stored reply on barge-in), and only the
page's playback worklet knows that, so `played_samples` is whatever the page last reported. Every `clear`
starts a new epoch: reports and audio frames from an older epoch are dropped, so a report that was already
on the wire when the user barged in cannot be counted against the next reply.

One sender task owns the socket's write side: events and audio are queued (never blocking the pipeline) and
written in order by that task, because a WebSocket must not be written from two tasks at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from base.events import ClearAudio, Event, HoldAudio, Info
from realtime.audio_out import PlayedWaiters

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Frame:
    """One queued write: text (JSON) or reply audio of a given epoch; `kind` is the event type of a text frame."""

    text: str | None = None
    data: bytes | None = None
    epoch: int = 0
    kind: str = ""


def audio_frame(seq: int, pcm: np.ndarray) -> bytes:
    """The binary reply-audio frame: uint32 LE `seq`, then PCM16 LE mono."""
    return struct.pack("<I", seq & 0xFFFFFFFF) + np.asarray(pcm, dtype="<i2").tobytes()


def parse_audio_frame(frame: bytes) -> tuple[int, np.ndarray]:
    """Inverse of `audio_frame` (for clients and tests)."""
    seq = struct.unpack_from("<I", frame)[0]
    return seq, np.frombuffer(frame[4:], dtype="<i2").astype(np.int16)


# What a slow client can do without: a newer partial supersedes an older one, and playback reports are only
# progress. Audio, finals, tokens and errors are never dropped.
SUPERSEDED = frozenset({"partial_transcript"})
SKIPPABLE = frozenset({"playback"})
PRESSURE_ON = "backpressure: the client reads slower than the server sends; partial transcripts and playback " \
              "reports are skipped until it catches up (audio, transcripts, tokens and errors are all kept)"
PRESSURE_OFF = "backpressure cleared: the client caught up"


class SocketSender:
    """Serializes every write to one WebSocket through a bounded queue drained by a single task.

    Past `threshold` queued frames the client is behind: partials (keeping the newest) and playback reports
    are skipped, with one `info` when that starts and one when the queue has drained to half the threshold.
    Past `hard_max` frames the client has stopped reading: the queue is dropped and `on_overflow` is called
    (the session closes the socket), so one stuck client cannot grow the server's memory without bound.
    """

    def __init__(self, send_text: Callable[[str], Awaitable[None]],
                 send_bytes: Callable[[bytes], Awaitable[None]], *, threshold: int = 50, hard_max: int = 2000,
                 on_overflow: Callable[[], None] | None = None) -> None:
        self._send_text = send_text
        self._send_bytes = send_bytes
        self.threshold = threshold
        self.hard_max = max(hard_max, threshold + 1)
        self._on_overflow = on_overflow
        self._frames: deque[_Frame] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.epoch = 0
        self.closed = False
        self.pressured = False
        self.skipped = 0  # frames skipped under backpressure (for logs and tests)
        self.max_depth = 0  # the deepest the queue has been (for tests: the memory bound)
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ws-sender")

    def __len__(self) -> int:
        return len(self._frames)

    def send_event(self, ev: Event) -> None:
        """Queue one typed event (the only way server messages are written)."""
        self.send_json(ev.to_dict())

    def send_json(self, obj: dict[str, Any]) -> None:
        if self.closed or self._stopping:
            return
        kind = str(obj.get("type", ""))
        if kind in SUPERSEDED or kind in SKIPPABLE:
            if len(self._frames) >= self.threshold and not self.pressured:
                self._pressure(True)
            if self.pressured:
                if kind in SKIPPABLE:
                    self.skipped += 1
                    return
                stale = [f for f in self._frames if f.kind == kind]
                for f in stale:
                    self._frames.remove(f)
                self.skipped += len(stale)
        self._push(_Frame(text=json.dumps(obj, default=str), kind=kind))

    def send_audio(self, data: bytes, epoch: int) -> None:
        if self.closed or self._stopping:
            return
        self._push(_Frame(data=data, epoch=epoch))

    def _push(self, frame: _Frame, *, first: bool = False) -> None:
        if first:
            self._frames.appendleft(frame)
        else:
            self._frames.append(frame)
        self.max_depth = max(self.max_depth, len(self._frames))
        self._idle.clear()
        self._wake.set()
        if len(self._frames) > self.hard_max:
            log.warning("client %d frames behind: it stopped reading; closing its socket", len(self._frames))
            self._frames.clear()
            self.closed = True
            self._task.cancel()
            if self._on_overflow is not None:
                self._on_overflow()

    def _pressure(self, on: bool) -> None:
        self.pressured = on
        log.info("backpressure %s (%d frames queued)", "on" if on else "off", len(self._frames))
        info = Info(turn_id="", message=PRESSURE_ON if on else PRESSURE_OFF)
        self._push(_Frame(text=json.dumps(info.to_dict()), kind=info.type), first=on)

    async def drained(self) -> None:
        """Return once everything queued so far has been written (or the socket is gone)."""
        while not self._idle.is_set() and not self.closed:
            await self._idle.wait()

    async def _run(self) -> None:
        try:
            while True:
                while not self._frames:
                    self._idle.set()
                    if self._stopping:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                frame = self._frames.popleft()
                if frame.text is not None:
                    await self._send_text(frame.text)
                elif frame.data is not None and frame.epoch == self.epoch:
                    await self._send_bytes(frame.data)  # audio of a flushed epoch is never sent
                if self.pressured and len(self._frames) <= self.threshold // 2:
                    self._pressure(False)
        except Exception as exc:  # the client went away: stop writing, let the receive side clean up
            log.debug("socket sender stopped: %s", exc)
        finally:
            self.closed = True
            self._idle.set()

    async def aclose(self, timeout: float = 2.0) -> None:
        """Write what is queued (within `timeout`), then stop."""
        self._stopping = True
        self._wake.set()
        if not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
        self.closed = True


class BrowserOutput:
    """AudioOutput over a WebSocket. Without playback reports (a client that does not play), sent = played."""

    def __init__(self, sender: SocketSender, sample_rate: int, *, reports_playback: bool = False) -> None:
        self.sender = sender
        self.sample_rate = sample_rate
        self.reports_playback = reports_playback
        self._sent = 0  # samples enqueued since the last clear
        self._played = 0  # samples the client says it played since the last clear
        self.held = False  # the page's player was told to hold (talking over the reply)
        self._waiters = PlayedWaiters()

    def enqueue(self, audio: np.ndarray, seq: int) -> None:
        pcm = np.asarray(audio, dtype=np.int16).reshape(-1)
        if not len(pcm):
            return
        self._sent += len(pcm)
        self.sender.send_audio(audio_frame(seq, pcm), self.sender.epoch)

    def pause(self) -> bool:
        """Talking over the reply: the page's player holds where it is (a client that does not report playback
        may not play at all, so it is not asked, and the reply runs on there)."""
        if not self.reports_playback:
            return False
        self.held = True
        self.sender.send_event(HoldAudio(turn_id="", held=True))
        return True

    def resume(self) -> None:
        if self.held:
            self.held = False
            self.sender.send_event(HoldAudio(turn_id="", held=False))

    def clear(self) -> None:
        """Barge-in: unsent audio is dropped here, and the page flushes its queue (and ends a hold) on `clear`."""
        self.held = False
        self.sender.epoch += 1
        self._sent = 0
        self._played = 0
        self._waiters.advance(0, everything=True)
        self.sender.send_event(ClearAudio(turn_id="", epoch=self.sender.epoch))

    def report(self, played_samples: int, epoch: int | None) -> None:
        """A client's playback report; ignored when it belongs to audio flushed since."""
        self.reports_playback = True
        if epoch is not None and epoch != self.sender.epoch:
            return
        self._played = max(self._played, min(int(played_samples), self._sent))
        self._waiters.advance(self._played)

    def played_samples(self) -> int:
        return self._played if self.reports_playback else self._sent

    async def wait_played(self, n: int) -> int:
        """Without playback reports audio counts as heard once written; with them, when the page says so."""
        if not self.reports_playback:
            await self.sender.drained()
            return self.played_samples()
        return await self._waiters.add(n, self._played)

    def abandon(self) -> None:
        """The socket is gone: nobody will report again, so every wait ends now."""
        self._waiters.advance(self._played, everything=True)
