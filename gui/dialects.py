"""The first message on `/ws` chooses the dialect: `hello` the native one (the page), `start` the seed's.

Anything else first (binary audio, another message, a frame that is not JSON) is a protocol violation: one
`error` event with code PROTOCOL_VIOLATION, `recoverable: false`, then the socket is closed with 1008.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from fastapi import WebSocket, WebSocketDisconnect

from base.events import ErrorCode, ErrorEvent
from gui.seed_session import SeedSession
from gui.session_base import POLICY_VIOLATION, SocketSession
from gui.ws_session import WsSession
from realtime.desktop import DesktopSlot
from realtime.engines import Engines

log = logging.getLogger(__name__)

FIRST_MESSAGE_FIX = ('the first message on /ws must be {"type": "hello", ...} (the native protocol) or '
                     '{"type": "start", "sample_rate": 16000} (the streaming protocol)')


def first_type(text: str | None) -> str | None:
    """The `type` of a first text frame, or None when it is not a JSON object with one."""
    if text is None:
        return None
    try:
        msg = json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # garbage, or nesting deep enough to blow the stack
        return None
    kind = msg.get("type") if isinstance(msg, dict) else None
    return kind if isinstance(kind, str) else None


async def serve_socket(engines: Engines, ws: WebSocket, desktop_slot: DesktopSlot,
                       register: Callable[[SocketSession], Callable[[], None]]) -> None:
    """Accept, read the first message, then hand the socket to the session of that dialect until it ends."""
    await ws.accept()
    try:
        msg = await ws.receive()
    except WebSocketDisconnect:
        return
    if msg["type"] == "websocket.disconnect":
        return
    text = msg.get("text")
    kind = first_type(text)
    session: SocketSession
    if kind == "hello":
        session = WsSession(engines, ws, desktop_slot)
    elif kind == "start":
        session = SeedSession(engines, ws)
    else:
        what = "binary audio" if msg.get("bytes") is not None else (
            f"a {kind!r} message" if kind else "a frame that is not a JSON object with a type")
        err = ErrorEvent(turn_id="", code=ErrorCode.PROTOCOL_VIOLATION, recoverable=False,
                         message=f"{what} before the session was opened: {FIRST_MESSAGE_FIX}")
        log.warning("closing a /ws connection: %s", err.message)
        await ws.send_text(json.dumps(err.to_dict()))
        await ws.close(code=POLICY_VIOLATION)
        return
    unregister = register(session)
    try:
        await session.run(first=text)
    finally:
        unregister()
