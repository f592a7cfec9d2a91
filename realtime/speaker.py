"""The desktop speaker: one sounddevice OutputStream fed from a queue, gapless across phrases, flushable.

PortAudio calls `_callback` on its own thread every few milliseconds; it copies queued PCM into the device
buffer and never blocks (a short lock, no allocation beyond slicing). Phrases join back to back in that queue,
so there is no gap between sentences as long as the next phrase arrives before the current one ends. A small
block size keeps what is already inside the device short, so `clear()` (barge-in) is heard within ~50 ms.
sounddevice is imported on `start()`: PortAudio reads PULSE_SERVER and lists devices when it initializes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import soxr

from base.audio import to_int16
from base.status import FixableError
from core.config import AudioConfig
from realtime.audio_out import PlayedWaiters

log = logging.getLogger(__name__)


class SpeakerError(FixableError):
    """No usable output device; `problem` names the device, `fix` how to pick another."""


class SpeakerOutput:
    """AudioOutput for the sound card; `played_samples` counts `sample_rate` samples since the last clear."""

    def __init__(self, cfg: AudioConfig, sample_rate: int, *, block_ms: int = 10,
                 device_rate: int | None = None, latency: float | None = None) -> None:
        """`device_rate` forces the device's rate; by default the voice's rate if the device takes it.

        `latency` is the audio held inside the device: what still plays after `clear()`, and the stall the
        callback survives. Measured on PulseAudio's ALSA plugin: at PortAudio's "low" (20 ms) one 50 ms hiccup
        caused a cascade of underruns, each a 2 s silence; 60 ms rode out 50 ms stalls.
        """
        self.cfg = cfg
        self.sample_rate = sample_rate
        self.block_ms = block_ms
        self.latency = cfg.output_latency_ms / 1000 if latency is None else latency
        self._want_rate = device_rate
        self.device_rate = sample_rate
        self.device_name = ""
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._chunks: collections.deque[np.ndarray] = collections.deque()
        self.paused = False  # held by the barge-in policy: the callback plays silence, the queue stays
        self._offset = 0  # samples of _chunks[0] already played
        self._played_dev = 0  # device-rate samples handed to the device since the last clear
        self._drained = asyncio.Event()
        self.current_seq = -1  # the seq of the phrase last enqueued
        self.underflows = 0
        self._played_listeners: list[Callable[[np.ndarray, int], None]] = []
        self._waiters = PlayedWaiters()

    # -- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        try:
            import sounddevice as sd
        except OSError as exc:
            raise SpeakerError(f"PortAudio is missing ({exc})", "apt-get install libportaudio2") from exc
        device = self.cfg.output_device
        try:
            info = sd.query_devices(device, "output")
        except Exception as exc:
            raise SpeakerError(
                f"no output device {device if device is not None else '(system default)'} ({exc})",
                "list devices with `python launch.py devices` and set audio.output_device") from exc
        self.device_name = str(info["name"])
        try:
            rate = self._want_rate or self.sample_rate
            sd.check_output_settings(device=device, samplerate=rate, channels=1, dtype="int16")
        except Exception:
            rate = int(info["default_samplerate"])  # the device cannot take our rate: resample on enqueue
        self.device_rate = rate
        try:
            self._stream = sd.OutputStream(
                device=device, samplerate=rate, channels=1, dtype="int16",
                blocksize=max(64, rate * self.block_ms // 1000), latency=self.latency,
                callback=self._callback)
            self._stream.start()
        except Exception as exc:
            self._stream = None
            raise SpeakerError(f"cannot open output device {self.device_name!r} at {rate} Hz ({exc})",
                               "pick another with audio.output_device (`python launch.py devices`)") from exc

    async def stop(self) -> None:
        self.clear()
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(_close, stream)

    # -- AudioOutput --------------------------------------------------------------------------------
    def enqueue(self, audio: np.ndarray, seq: int) -> None:
        """Queue int16 mono PCM at `sample_rate`; returns at once (resampling is a few ms per phrase)."""
        if self._stream is None:
            raise RuntimeError("SpeakerOutput.enqueue before start(): call `await speaker.start()` first")
        pcm = np.asarray(audio).reshape(-1)
        if pcm.dtype != np.int16:
            pcm = to_int16(pcm)
        if self.device_rate != self.sample_rate and len(pcm):
            pcm = soxr.resample(pcm, self.sample_rate, self.device_rate)
        if not len(pcm):
            return
        with self._lock:
            self._chunks.append(pcm)
            self.current_seq = seq
        self._drained.clear()

    def clear(self) -> None:
        """Drop everything not yet handed to the device (barge-in) and restart the played count."""
        self.paused = False  # a new reply plays at once
        with self._lock:
            self._chunks.clear()
            self._offset = 0
            self._played_dev = 0
        self._waiters.advance(0, everything=True)
        self._notify_drained()

    def pause(self) -> bool:
        """Hold the queue (the device plays silence) until `resume`: a cough over the reply must not end it."""
        self.paused = True
        return True

    def resume(self) -> None:
        self.paused = False

    def played_samples(self) -> int:
        with self._lock:
            dev = self._played_dev
        if self.device_rate == self.sample_rate:
            return dev
        return dev * self.sample_rate // self.device_rate

    async def wait_played(self, n: int) -> int:
        """Resolved from the device callback once `n` samples (at `sample_rate`) have gone to the device."""
        if self._stream is None:
            return self.played_samples()
        return await self._waiters.add(n, self.played_samples())

    def pending_samples(self) -> int:
        """Samples (at `sample_rate`) queued but not yet handed to the device."""
        with self._lock:
            dev = sum(len(c) for c in self._chunks) - self._offset
        return dev * self.sample_rate // self.device_rate

    async def wait_done(self) -> None:
        """Return when the queue has drained and its last block has had time to leave the device."""
        while self.pending_samples() > 0 and self._stream is not None and self._stream.active:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):  # not wait_for, which can swallow a cancel (Python 3.11)
                    await self._drained.wait()
        if self._stream is not None:
            await asyncio.sleep(float(self._stream.latency))

    def add_played_listener(self, fn: Callable[[np.ndarray, int], None]) -> Callable[[], None]:
        """Call `fn(block, device_rate)` with every block handed to the device, silence included.

        The echo canceller needs exactly what went out, in step with the device's clock. `fn` runs on
        PortAudio's thread and must not block (append to a deque, nothing more); `block` is a fresh int16
        copy. Returns the function that removes the listener.
        """
        self._played_listeners = [*self._played_listeners, fn]  # copy on write: the callback reads a snapshot
        return lambda: setattr(self, "_played_listeners", [f for f in self._played_listeners if f is not fn])

    # -- PortAudio's thread -------------------------------------------------------------------------
    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        out = outdata[:, 0]
        filled = 0
        with self._lock:
            chunks = self._chunks
            while filled < frames and chunks and not self.paused:
                chunk = chunks[0]
                take = min(frames - filled, len(chunk) - self._offset)
                out[filled:filled + take] = chunk[self._offset:self._offset + take]
                filled += take
                self._offset += take
                if self._offset >= len(chunk):
                    chunks.popleft()
                    self._offset = 0
            self._played_dev += filled
            drained = filled > 0 and not chunks
        if filled < frames:
            out[filled:] = 0
        listeners = self._played_listeners  # iterates a snapshot: add/remove swap the list
        if listeners:
            block = out.copy()
            for fn in listeners:
                try:
                    fn(block, self.device_rate)
                except Exception:  # a broken listener must not silence the speaker
                    log.exception("played-audio listener failed")
        if status and status.output_underflow:
            self.underflows += 1
        if drained:
            self._notify_drained()
        target = self._waiters.lowest
        if target is not None and filled and self.played_samples() >= target:
            self._on_loop(self._advance)

    def _advance(self) -> None:
        self._waiters.advance(self.played_samples())

    def _notify_drained(self) -> None:
        self._on_loop(self._drained.set)

    def _on_loop(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            loop.call_soon_threadsafe(fn)


def _close(stream: Any) -> None:
    with contextlib.suppress(Exception):
        stream.stop()
    with contextlib.suppress(Exception):
        stream.close()
