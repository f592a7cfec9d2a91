"""livekit-agents LLM plugin over our assistant turn (core.assistant.Assistant.reply).

A room gets the app's mind whole: Ollama with the system prompt, recalled memories, the stored history of this
session and the MCP tools. Tool calls stay ours: the assistant runs them through the MCP client inside one
`reply` (bounded rounds, slow-tool notice, errors handed back to the model), and only the words reach livekit,
as streamed `ChatChunk`s. Handing them to livekit's function tools instead would bypass the MCP client's schema
flattening, timeouts and memory gating, and make every tool a Python function to keep in sync.

livekit keeps its own chat context; we take only the newest user message from it, since the conversation
lives in our History. What the user actually heard is stored by `record_heard` once livekit knows it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from livekit.agents import APIConnectionError, APIStatusError, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

from base.events import ErrorCode, ErrorEvent, Event, LlmToken
from core.assistant import Assistant

log = logging.getLogger(__name__)


@dataclass
class ReplyRecord:
    turn_id: str
    text: str = ""
    done: bool = False


def latest_user_text(chat_ctx: llm.ChatContext) -> str:
    """The user message this turn answers: the last user message after the last assistant one."""
    for item in reversed(chat_ctx.items):
        if item.type != "message":
            continue
        if item.role == "assistant":
            break
        if item.role == "user" and (text := (item.text_content or "").strip()):
            return text
    raise APIStatusError("the assistant answers a user message, and the chat context ends without one "
                         "(use session.generate_reply(user_input=...) or session.say(...))",
                         status_code=400, retryable=False)


class AssistantLLM(llm.LLM):
    """Our assistant as a livekit LLM for one conversation (`session_id` keys its history and memory)."""

    def __init__(self, assistant: Assistant, *, session_id: str,
                 on_event: Callable[[Event], None] | None = None) -> None:
        super().__init__()
        self.assistant, self.session_id, self.on_event = assistant, session_id, on_event
        self.last: ReplyRecord | None = None

    @property
    def model(self) -> str:
        return self.assistant.settings.ollama.model

    @property
    def provider(self) -> str:
        return "ollama (local assistant)"

    def chat(self, *, chat_ctx: llm.ChatContext, tools: list[llm.Tool] | None = None,
             conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
             parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
             tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
             extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN) -> AssistantStream:
        if tools:
            log.info("ignoring %d livekit function tool(s): this assistant's tools come from MCP", len(tools))
        # no retries: a reply that already ran a tool must not run it again
        options = APIConnectOptions(max_retry=0, retry_interval=conn_options.retry_interval,
                                    timeout=conn_options.timeout)
        return AssistantStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=options)

    def record_heard(self, heard: str, *, interrupted: bool) -> None:
        """Memory gating, as in the app: store the reply whole, or as cut to what the user heard."""
        rec = self.last
        if rec is None or rec.done:
            return
        rec.done = True
        self.assistant.record_reply(self.session_id, rec.turn_id, rec.text, interrupted=interrupted,
                                    heard=heard if interrupted else None)


class AssistantStream(llm.LLMStream):
    """One reply turn: our events in, livekit ChatChunks (text only) out."""

    def __init__(self, llm_: AssistantLLM, *, chat_ctx: llm.ChatContext, tools: list[llm.Tool],
                 conn_options: APIConnectOptions) -> None:
        super().__init__(llm_, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._assistant_llm = llm_

    async def _run(self) -> None:
        owner = self._assistant_llm
        user_text = latest_user_text(self._chat_ctx)
        rec = ReplyRecord(turn_id=uuid.uuid4().hex)
        owner.last = rec
        async for ev in owner.assistant.reply(owner.session_id, rec.turn_id, user_text):
            if owner.on_event is not None:
                owner.on_event(ev)
            if isinstance(ev, LlmToken) and ev.text:
                rec.text += ev.text
                self._event_ch.send_nowait(llm.ChatChunk(
                    id=rec.turn_id, delta=llm.ChoiceDelta(role="assistant", content=ev.text)))
            elif isinstance(ev, ErrorEvent) and ev.code != ErrorCode.TOOL_ERROR:
                if not rec.text:  # nothing said yet: the session reports it like any LLM failure
                    raise APIConnectionError(f"{ev.code}: {ev.message}", retryable=False)
                log.warning("reply cut short: %s", ev.message)
