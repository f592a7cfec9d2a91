"""What happens when the user speaks while the assistant speaks: one object per session, chosen by the config.

- `headset`: speech that lasts `barge_in.min_speech_ms` interrupts the reply (a cough does not);
- `ignore_while_speaking`: the microphone is muted while the assistant speaks (open speakers, no canceller);
- `echo_cancel`: the microphone runs through WebRTC's echo canceller fed with what the speaker really played,
  then behaves as `headset`. Where it cannot work it falls back (see `realtime.echo`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import numpy as np

from core.config import Settings
from realtime.echo import attach_echo_canceller
from realtime.listener import Listener
from realtime.turn import OwnedTasks


class BargeInPolicy:
    def __init__(self, settings: Settings, output: object, listener: Listener | None) -> None:
        self.listener = listener
        self.name, self.echo, self._detach = attach_echo_canceller(
            settings.barge_in.policy if listener is not None else "headset", output)
        # the overlap that must be heard before a reply is cut, on top of what opened the utterance
        self.confirm_s = max(0.0, (settings.barge_in.min_speech_ms - settings.vad.min_speech_ms) / 1000)
        self._confirming: asyncio.Task[None] | None = None

    def clean(self, pcm: np.ndarray) -> np.ndarray:
        """The microphone as the listener should hear it (the assistant's own voice taken out, if it can be)."""
        return self.echo.near(pcm) if self.echo is not None else pcm

    def speaking_started(self) -> None:
        if self.listener is not None and self.name == "ignore_while_speaking":
            self.listener.mute()

    def speaking_stopped(self) -> None:
        if self.listener is not None:
            self.listener.unmute()

    def user_spoke(self, tasks: OwnedTasks, still_speaking: Callable[[], bool],
                   interrupt: Callable[[], Awaitable[None]]) -> None:
        """Speech started while the assistant speaks: interrupt once it has lasted long enough to be words."""
        if self.name == "ignore_while_speaking" or self.listener is None:
            return
        if self._confirming is not None and not self._confirming.done():
            return
        listener = self.listener

        async def confirm() -> None:
            await asyncio.sleep(self.confirm_s)
            if listener.in_speech and still_speaking():
                await interrupt()

        self._confirming = tasks.spawn(confirm(), "barge-in")

    def close(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None
