"""Plain HTTP beside `/ws`: `POST /v1/chat` for one typed turn, `GET /v1/sessions[/{id}]` for the history.

A chat turn runs through the same Assistant the voice sessions use (`Assistant.reply`, which the voice
pipeline's ReplyRunner also iterates): the same context (system prompt, recalled memories, the session's
recent turns), the same MCP tools, the same memory gating (the user row first, the reply once finished). Only
the voice is left out: synthesizing audio nobody hears would cost a REST client a second of CPU per sentence.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from base.events import ErrorEvent, LlmToken, ToolCall, ToolResult
from realtime.engines import Engines

MAX_TEXT = 8000
SESSIONS_LISTED = 100
MESSAGES_SHOWN = 500


class ChatRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="the user's message")
    session_id: str | None = Field(None, description="continue this stored session; omitted: a new one")


class ToolCallOut(BaseModel):
    name: str
    arguments: dict[str, Any]
    ok: bool | None = None
    content: str = ""


class ErrorOut(BaseModel):
    code: str
    message: str
    recoverable: bool


class ChatResponse(BaseModel):
    session_id: str
    turn_id: str
    text: str = Field(description="the whole reply")
    tool_calls: list[ToolCallOut] = Field(default_factory=list)
    error: ErrorOut | None = Field(None, description="set when the model or a tool failed (the text may be empty)")


class SessionOut(BaseModel):
    id: str
    title: str | None = None
    created_at: str
    updated_at: str
    messages: int


class MessageOut(BaseModel):
    role: str
    content: str
    turn_id: str | None = None
    interrupted: bool = False
    heard: str | None = None
    created_at: str | None = None


class SessionDetail(SessionOut):
    history: list[MessageOut]


def _unknown(session_id: str) -> HTTPException:
    return HTTPException(404, f"unknown session_id {session_id[:80]!r}: list them with GET /v1/sessions, or "
                              "leave session_id out to start a new conversation")


def rest_router(engines: Engines) -> APIRouter:
    """The `/v1` routes over the server's shared engines."""
    router = APIRouter(prefix="/v1", tags=["chat"])
    history = engines.history

    @router.post("/chat", response_model=ChatResponse, summary="One typed turn: the reply, its tool calls")
    async def chat(req: ChatRequest) -> ChatResponse:
        text = req.text.strip()
        if not text:
            raise HTTPException(422, "text is blank: send the message to answer in \"text\"")
        if req.session_id is not None and history.session(req.session_id) is None:
            raise _unknown(req.session_id)
        session_id = req.session_id or history.new_session()
        turn_id = uuid.uuid4().hex
        reply, calls, error = "", [], None
        async for ev in engines.assistant.reply(session_id, turn_id, text):
            if isinstance(ev, LlmToken):
                reply += ev.text
            elif isinstance(ev, ToolCall):
                calls.append(ToolCallOut(name=ev.name, arguments=ev.arguments))
            elif isinstance(ev, ToolResult):
                for c in reversed(calls):
                    if c.name == ev.name and c.ok is None:
                        c.ok, c.content = ev.ok, ev.content
                        break
            elif isinstance(ev, ErrorEvent) and error is None:
                error = ErrorOut(code=ev.code.value, message=ev.message, recoverable=ev.recoverable)
        engines.assistant.record_reply(session_id, turn_id, reply)
        await engines.assistant.writer.flush()  # a caller that reads the session next finds the reply there
        return ChatResponse(session_id=session_id, turn_id=turn_id, text=reply, tool_calls=calls, error=error)

    @router.get("/sessions", response_model=list[SessionOut], summary="Stored sessions, most recent first")
    async def sessions(limit: int = SESSIONS_LISTED) -> list[SessionOut]:
        return [SessionOut(**row) for row in history.sessions(limit=max(1, min(limit, 10_000)))]

    @router.get("/sessions/{session_id}", response_model=SessionDetail, summary="One session and its messages")
    async def session(session_id: str) -> SessionDetail:
        row = history.session(session_id)
        if row is None:
            raise _unknown(session_id)
        messages = [MessageOut(**m) for m in history.recent(session_id, MESSAGES_SHOWN)]
        return SessionDetail(**row, history=messages)

    return router
