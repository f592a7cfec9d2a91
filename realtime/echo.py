"""Acoustic echo cancellation: take the assistant's own voice out of the microphone (open speakers).

With open speakers the reply comes back into the mic; with full barge-in the assistant would interrupt itself.
WebRTC's echo canceller (AEC3, through livekit's AudioProcessingModule, fully offline) subtracts what the
speaker really played (the "far end", reported by the speaker's callback) from what the mic hears (the
"near end"), so the user can still talk over the reply. AEC3 estimates the speaker-to-mic delay itself
(echo paths of 60-250 ms cancelled alike, with or without `set_stream_delay_ms`), so no delay is configured.

Threads: `far()` is called from PortAudio's callback thread and only appends to a deque. `near()` runs on the
caller's thread (the event loop): it resamples the far audio queued so far, feeds it to the canceller
interleaved with the mic frames it overlaps (far before the near frames, as a real-time duplex device
would), and returns the cleaned mic audio. When the speaker is open but silent its callback still reports
zeros, which keeps far and near in lockstep; when no far audio arrives at all the mic passes through
unchanged.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import soxr

from base.audio import LISTEN_RATE, Reframer, to_int16
from realtime.audio_out import PlayedAudioTap

log = logging.getLogger(__name__)

APM_RATES = (8000, 16000, 32000, 48000)
MAX_BACKLOG_S = 1.0  # far audio older than this behind the mic cannot be in its echo any more: dropped
INCOMING_MAX_CHUNKS = 2000  # bound on what far() holds if near() is never called (about 20 s of 10 ms blocks)


class EchoCancellerError(RuntimeError):
    """The echo canceller cannot run here; the message says how to fix it."""


class EchoCanceller:
    """AEC3 on 10 ms int16 mono frames at `sample_rate`; `far` from any thread, `near` from one thread."""

    def __init__(self, sample_rate: int = 16000, *, noise_suppression: bool = True,
                 high_pass_filter: bool = True) -> None:
        if sample_rate not in APM_RATES:
            raise ValueError(f"echo canceller rate {sample_rate} Hz is not supported: use one of {APM_RATES}")
        try:
            from livekit import rtc
        except ImportError as exc:
            raise EchoCancellerError(
                f"barge_in.policy echo_cancel needs WebRTC's echo canceller ({exc}): `pip install livekit`, "
                "or set barge_in.policy to ignore_while_speaking") from exc
        self._rtc: Any = rtc
        # auto gain control off: it would pump the level the VAD's background gate relies on
        self._apm: Any = rtc.AudioProcessingModule(
            echo_cancellation=True, noise_suppression=noise_suppression, high_pass_filter=high_pass_filter,
            auto_gain_control=False)
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate // 100
        self._incoming: collections.deque[tuple[np.ndarray, int]] = collections.deque(maxlen=INCOMING_MAX_CHUNKS)
        self._resampler: Any = None
        self._resampler_rate = 0
        self._far = Reframer(self.frame_samples)
        self._near = Reframer(self.frame_samples)
        self._far_pending: list[np.ndarray] = []  # whole far frames waiting for near frames to pair with
        self.far_frames = 0  # 10 ms frames fed as reference
        self.near_frames = 0  # 10 ms mic frames cleaned
        self.dropped_far_frames = 0  # far frames too old to matter (the mic was not being read)
        self.errors = 0  # frames passed through uncleaned because the canceller failed

    # -- far end: any thread ------------------------------------------------------------------------
    def far(self, pcm: np.ndarray, rate: int) -> None:
        """What the speaker has just handed to the device (int16 or float, mono, any rate). Never blocks."""
        self._incoming.append((np.array(pcm, copy=True).reshape(-1), int(rate)))  # deque.append is atomic

    # -- near end: one thread -----------------------------------------------------------------------
    def near(self, pcm: np.ndarray) -> np.ndarray:
        """Clean mic audio (int16 mono at `sample_rate`, any length); returns int16 for whole 10 ms frames.

        Up to one frame (10 ms) stays behind for the next call, so the output can be shorter than the input.
        """
        far = self._take_far()
        frames = self._near.push(to_int16(pcm))
        n = len(frames)
        if n == 0:
            self._far_pending = far  # keep the reference for the frames it overlaps
            return np.zeros(0, dtype=np.int16)
        raw = np.concatenate(frames)
        out = raw.copy()
        fed = 0
        try:
            for i in range(n):
                # spread the far frames over the near ones: a duplex device alternates them
                due = (i + 1) * len(far) // n
                while fed < due:
                    self._apm.process_reverse_stream(self._frame(far[fed]))
                    fed += 1
                s = slice(i * self.frame_samples, (i + 1) * self.frame_samples)
                frame = self._frame(out[s])
                self._apm.process_stream(frame)
                out[s] = np.frombuffer(frame.data, dtype=np.int16)
        except Exception as exc:  # a canceller failure must not cost the user's words: pass the mic through
            self.errors += n
            if self.errors == n:
                log.error("echo canceller failed (%s): passing the microphone through uncleaned", exc)
            return raw
        self.far_frames += fed
        self.near_frames += n
        return out

    # -- internals ----------------------------------------------------------------------------------
    def _take_far(self) -> list[np.ndarray]:
        """Far audio queued since the last call, at our rate, in whole frames (plus any held back)."""
        frames = list(self._far_pending)
        while self._incoming:
            pcm, rate = self._incoming.popleft()
            frames += self._far.push(self._resample(to_int16(pcm), rate))
        self._far_pending = []
        keep = int(MAX_BACKLOG_S * 100)
        if len(frames) > keep:
            self.dropped_far_frames += len(frames) - keep
            frames = frames[-keep:]
        return frames

    def _resample(self, pcm: np.ndarray, rate: int) -> np.ndarray:
        if rate == self.sample_rate or not len(pcm):
            return pcm
        if rate != self._resampler_rate:  # a streaming resampler keeps its filter state across blocks
            self._resampler = soxr.ResampleStream(rate, self.sample_rate, 1, dtype="int16")
            self._resampler_rate = rate
        return np.asarray(self._resampler.resample_chunk(pcm), dtype=np.int16)

    def _frame(self, pcm: np.ndarray) -> Any:
        return self._rtc.AudioFrame(pcm.tobytes(), self.sample_rate, 1, self.frame_samples)


def attach_echo_canceller(
    policy: str, output: object
) -> tuple[str, EchoCanceller | None, Callable[[], None] | None]:
    """Set up barge-in policy `echo_cancel` for an output: (the policy really used, the canceller, detach).

    An output that does not report what it plays (the browser socket: Chrome cancels its own echo) falls back
    to headset behaviour; a machine without livekit falls back to ignoring the mic while speaking, so open
    speakers never make the assistant interrupt itself.
    """
    if policy != "echo_cancel":
        return policy, None, None
    if not isinstance(output, PlayedAudioTap):
        log.warning("barge_in.policy echo_cancel: %s does not report what it plays, so barge-in works as "
                    "with a headset", type(output).__name__)
        return "headset", None, None
    try:
        echo = EchoCanceller(LISTEN_RATE)
    except EchoCancellerError as exc:
        log.warning("%s; the microphone is ignored while the assistant speaks", exc)
        return "ignore_while_speaking", None, None
    return "echo_cancel", echo, output.add_played_listener(echo.far)
