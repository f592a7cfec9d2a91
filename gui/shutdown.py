"""Graceful shutdown: on SIGINT/SIGTERM every open `/ws` session is told, its reply cancelled, its socket closed.

uvicorn's own shutdown closes WebSockets with 1012 and no word to the client, after the lifespan can help; so
the server's signal handler first runs `shutdown_sessions` (an `info` "server shutting down", the reply
interrupted and stored as far as it was heard, the socket closed with 1001), bounded by `gui.shutdown_grace_s`,
and only then lets uvicorn stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from types import FrameType

import uvicorn

from gui.session_base import SocketSession

log = logging.getLogger(__name__)


async def shutdown_sessions(sessions: Iterable[SocketSession], grace_s: float) -> float:
    """Close every session in parallel within `grace_s`; returns the seconds it took."""
    start = time.perf_counter()
    pending = [s.shutdown(grace_s) for s in list(sessions)]
    if pending:
        try:
            await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), grace_s)
        except TimeoutError:
            log.warning("some sessions did not close within %.1f s", grace_s)
    took = time.perf_counter() - start
    log.info("closed %d session(s) in %.0f ms", len(pending), took * 1000,
             extra={"event": "shutdown", "fields": {"sessions": len(pending), "ms": round(took * 1000)}})
    return took


class GracefulServer(uvicorn.Server):
    """A uvicorn server whose first signal closes the sessions before the server itself stops."""

    def __init__(self, config: uvicorn.Config, sessions: set[SocketSession], grace_s: float) -> None:
        super().__init__(config)
        self.sessions = sessions
        self.grace_s = grace_s
        self._closing: asyncio.Task[float] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._closing is not None or not self.sessions:
            super().handle_exit(sig, frame)  # a second signal, or nothing to close: stop now
            return
        loop = asyncio.get_event_loop()
        self._closing = loop.create_task(shutdown_sessions(self.sessions, self.grace_s))
        self._closing.add_done_callback(lambda _: super(GracefulServer, self).handle_exit(sig, frame))
