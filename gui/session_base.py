"""What both `/ws` dialects share: the socket's one writer, the agent's life, phases, logs, errors, shutdown.

The native dialect (`WsSession`, the page) and the seed's streaming dialect (`SeedSession`) differ only in the
messages they read and how they present the agent's events; the rest lives here once: the bounded sender with
backpressure, the VoiceAgent with a timed recognizer and the session's log observer, the phase tracker, the
error paths (a malformed message, a protocol violation that ends the connection, a bug in the handler), and a
graceful close for server shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ClassVar

from fastapi import WebSocket, WebSocketDisconnect

from app.session_log import PhaseTracker, SessionObserver
from base.events import ErrorCode, ErrorEvent, Event, Info
from gui.limits import BadMessage, TooManyBadMessages, WireLimits
from gui.transport import SocketSender
from realtime.audio_out import AudioOutput
from realtime.engines import Engines
from realtime.voice_agent import VoiceAgent

log = logging.getLogger(__name__)

SHUTDOWN_MESSAGE = "server shutting down"
POLICY_VIOLATION = 1008  # WebSocket close codes (RFC 6455)
GOING_AWAY = 1001
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013


class ProtocolViolation(ValueError):
    """A misuse the connection cannot survive (seed dialect, first message): error, then close 1008."""


class SocketSession:
    """One `/ws` connection after its dialect is known; subclasses read messages and present events."""

    dialect: ClassVar[str] = "?"

    def __init__(self, engines: Engines, ws: WebSocket) -> None:
        self.engines = engines
        self.ws = ws
        self.agent: VoiceAgent | None = None
        self.sender: SocketSender | None = None
        self.limits = WireLimits.from_config(engines.settings.gui)  # sizes, depth, malformed messages in a row
        self.observer = SessionObserver(self.dialect)
        self.phases = PhaseTracker(self.send)
        self._closing = False
        self._closed = False
        self._detach: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- what a dialect provides ------------------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        raise NotImplementedError

    async def on_text(self, raw: str) -> None:
        raise NotImplementedError

    def on_agent_event(self, ev: Event) -> None:
        raise NotImplementedError

    # --- the loop ---------------------------------------------------------------------------------
    async def run(self, first: str | None = None) -> None:
        """Serve the (already accepted) socket; `first` is the text message that chose the dialect."""
        gui = self.engines.settings.gui
        self.sender = SocketSender(self.ws.send_text, self.ws.send_bytes, threshold=gui.backpressure_frames,
                                   hard_max=gui.send_queue_max, on_overflow=self._overflowed)
        try:
            if first is not None:
                await self._dispatch({"type": "websocket.receive", "text": first})
            while not self._closing:
                msg = await self.ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                await self._dispatch(msg)
        except (WebSocketDisconnect, RuntimeError) as exc:  # RuntimeError: receive after the server closed
            log.debug("socket ended: %s", exc)
        finally:
            await asyncio.shield(self.close())  # a cancelled connection task still releases the agent

    async def _dispatch(self, msg: Mapping[str, Any]) -> None:
        try:
            if msg.get("bytes") is not None:
                self.on_bytes(msg["bytes"])
            elif msg.get("text") is not None:
                await self.on_text(msg["text"])
            self.limits.good()
        except TooManyBadMessages as exc:  # say why, then close: the client will not stop
            self._closing = True
            self.error(ErrorCode.BAD_MESSAGE, str(exc))
            await self.close_socket(POLICY_VIOLATION)
        except BadMessage as exc:
            self.error(ErrorCode.BAD_MESSAGE, str(exc))
            try:
                self.limits.bad()
            except TooManyBadMessages as too_many:
                self._closing = True
                self.error(ErrorCode.BAD_MESSAGE, str(too_many))
                await self.close_socket(POLICY_VIOLATION)
        except ProtocolViolation as exc:
            self._closing = True
            self.error(ErrorCode.PROTOCOL_VIOLATION, str(exc), recoverable=False)
            await self.close_socket(POLICY_VIOLATION)
        except Exception as exc:  # a bug in a handler: say so plainly and end this connection only
            log.exception("%s session: handler failed", self.dialect)
            self._closing = True
            self.error(ErrorCode.INTERNAL, f"the server failed on that message ({type(exc).__name__}: {exc}); "
                       "reconnect to start a new session", recoverable=False)
            await self.close_socket(INTERNAL_ERROR)

    # --- outgoing ---------------------------------------------------------------------------------
    def send(self, ev: Event) -> None:
        """Every server message is a typed event."""
        if self.sender is not None:
            self.sender.send_event(ev)

    def error(self, code: ErrorCode, message: str, turn_id: str = "", *, recoverable: bool = True) -> None:
        ev = ErrorEvent(turn_id=turn_id, code=code, message=message, recoverable=recoverable)
        self.observer.on_event(ev)
        self.present(ev)
        self.phases.on_event(ev)

    def present(self, ev: Event) -> None:
        """Send an event the session itself produced, in this dialect's form."""
        self.on_agent_event(ev)

    # --- the agent --------------------------------------------------------------------------------
    def new_agent(self, output: AudioOutput, *, session_id: str | None = None, listen: bool = True) -> VoiceAgent:
        """A VoiceAgent on the shared engines (one decode queue for every session), observed by phases and logs."""
        agent = VoiceAgent(self.engines, output, session_id=session_id, listen=listen)
        self.observer.session_id = self.phases.session_id = agent.session_id
        self.observer.decoder = self.engines.decoder
        self.agent = agent
        self._detach = agent.subscribe(self._observe)
        return agent

    def detach_agent(self) -> None:
        """Stop hearing the current agent (its remaining events are not sent)."""
        if self._detach is not None:
            self._detach()
            self._detach = None

    def _observe(self, ev: Event) -> None:
        self.observer.on_event(ev)
        self.on_agent_event(ev)
        self.phases.on_event(ev)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s session task failed", self.dialect, exc_info=exc)
            if self._closing:
                return
            self._closing = True
            self.error(ErrorCode.INTERNAL, f"the server failed ({type(exc).__name__}: {exc}); reconnect to start "
                       "a new session", recoverable=False)
            self.spawn(self.close_socket(INTERNAL_ERROR))

    # --- ending -----------------------------------------------------------------------------------
    def _overflowed(self) -> None:
        log.warning("%s session %s: client stopped reading; closing", self.dialect, self.observer.session_id[:8])
        self._closing = True
        self.spawn(self._close_ws(TRY_AGAIN_LATER))

    async def close_socket(self, code: int, flush_s: float = 1.0) -> None:
        """Send what is queued (bounded), then close the socket with `code`; the run loop then cleans up."""
        self._closing = True
        if self.sender is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.sender.drained(), flush_s)
            await self.sender.aclose(timeout=0.2)
        await self._close_ws(code)

    async def _close_ws(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code=code)

    async def shutdown(self, grace_s: float = 1.5) -> None:
        """Server shutdown: tell the client, cancel the reply (stored as far as it was heard), close with 1001."""
        self.send(Info(turn_id="", message=SHUTDOWN_MESSAGE))
        if self.agent is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.agent.interrupt(), grace_s / 2)
        await self.close_socket(GOING_AWAY, flush_s=grace_s / 2)

    async def close(self) -> None:
        """Release everything the session holds (once, whichever way the connection ended)."""
        if self._closed:
            return
        self._closed = self._closing = True
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        await self.close_agent()
        self.detach_agent()
        if self.sender is not None:
            await self.sender.aclose()

    async def close_agent(self) -> None:
        if self.agent is not None:
            with contextlib.suppress(Exception):
                await self.agent.aclose()

