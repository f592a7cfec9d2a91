"""A reply that is stopped really stops: no await on the way may swallow the cancel.

On Python 3.11, `asyncio.wait_for` returns the inner call's result instead of raising when the cancel and the
result arrive together. The voice chain used it for each phrase, so a reply stopped just as a phrase was done
took the phrase and went on to wait for the next one, and whoever waited for it to stop (a new message, the
session's close) waited forever: the desktop echo test's 300 s timeouts, caught by its task dump.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from base.status import ComponentStatus
from realtime.tts.base import Speech
from realtime.tts.fallback import FallbackTTS
from realtime.turn import RECANCEL_S, OwnedTasks


class GatedVoice:
    """A voice whose phrase is done when the test opens the gate."""

    name = "gated"

    def __init__(self) -> None:
        self.gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Speech:
        await self.gate
        return Speech(audio=np.ones(2205, dtype=np.int16), sample_rate=22050, provider=self.name)

    async def probe(self) -> ComponentStatus:
        return ComponentStatus(self.name, True, "gated", "")

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


async def test_a_phrase_that_ends_as_its_reply_is_cancelled_does_not_swallow_the_cancel() -> None:
    voice = GatedVoice()
    tts = FallbackTTS([voice])
    phrase = asyncio.get_running_loop().create_task(tts.synthesize("Hello there."))
    await asyncio.sleep(0.05)  # waiting for the voice
    voice.gate.set_result(None)  # the phrase is done...
    phrase.cancel()  # ...in the same instant the reply is stopped
    with pytest.raises(asyncio.CancelledError):
        await phrase


async def test_cancel_all_stops_a_task_that_swallowed_its_first_cancel() -> None:
    tasks = OwnedTasks(lambda exc, name: None)
    forever = asyncio.Event()
    swallowed: list[bool] = []

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.append(True)  # as a racing wait_for would: take a result and go on waiting
        await forever.wait()

    task = tasks.spawn(stubborn(), "stubborn")
    await asyncio.sleep(0.01)
    async with asyncio.timeout(RECANCEL_S * 6):  # before: waited for it forever
        await tasks.cancel_all()
    assert swallowed and task.cancelled()
