"""Bounded waiting for tests: every poll has a deadline and fails naming what never happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_for(cond: Callable[[], object], timeout: float, what: str, *, interval: float = 0.02) -> None:
    """Poll `cond` on the event loop until it is true; fail after `timeout` seconds with `what` in the message."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() >= deadline:
            raise AssertionError(f"never happened within {timeout:g} s: {what}")
        await asyncio.sleep(interval)


def wait_for_sync(cond: Callable[[], object], timeout: float, what: str, *, interval: float = 0.05) -> None:
    """The blocking twin of `wait_for`, for threads and sync tests."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() >= deadline:
            raise AssertionError(f"never happened within {timeout:g} s: {what}")
        time.sleep(interval)
