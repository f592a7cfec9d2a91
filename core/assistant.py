"""One LLM turn: the conversation and the tools go in, text deltas and tool events come out.

It knows nothing of audio, so the voice pipeline, the text chat and the `/ws` API share it unchanged. It owns
the context window (system prompt, recalled memories, recent turns within a token budget), the tool loop
(bounded rounds, slow tools announced, bad calls returned to the model as errors), and memory gating: a reply is
written to history only when it is finished, or cut to what the user heard after a barge-in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from base.events import ErrorCode, ErrorEvent, Event, LlmToken, ToolCall, ToolPending, ToolResult
from core.config import Settings
from core.history_writer import HistoryWriter
from core.llm import ChatModel, LlmError
from core.memory import HistoryStore

log = logging.getLogger(__name__)

SLOW_TOOL_S = 1.0
TOOLS_WAIT_S = 3.0  # how long a turn waits for a crashed tools server to come back
CHARS_PER_TOKEN = 4  # a rough, safe estimate for budgeting English text without a tokenizer


class ToolRunner(Protocol):
    """What the assistant needs of the tool box (core.mcp_client.toolbox.McpToolBox implements it)."""

    def ollama_tools(self) -> list[dict[str, Any]]: ...

    async def ready_tools(self, wait_s: float) -> tuple[list[dict[str, Any]], list[str]]: ...

    async def call(self, name: str, arguments: dict[str, Any]) -> Any: ...

    async def recall(self, query: str, k: int, budget_s: float) -> list[str]: ...


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 4


class Assistant:
    """Runs reply turns against a ChatModel with optional tools and history."""

    def __init__(
        self,
        settings: Settings,
        chat: ChatModel,
        history: HistoryStore,
        tools: ToolRunner | None = None,
    ) -> None:
        self.settings = settings
        self.chat = chat
        self.history = history
        self.writer = HistoryWriter(history)  # every write goes through it: off the loop, in order, retried
        self.tools = tools
        self._discarded: set[str] = set()

    # --- context ---------------------------------------------------------------------------------
    async def build_messages(self, session_id: str, user_text: str, turn_id: str = "") -> list[dict[str, Any]]:
        """System prompt + memories + as many recent turns as fit the budget + the new user message."""
        cfg = self.settings.ollama
        system = cfg.system_prompt
        memories: list[str] = []
        mem = self.settings.memory
        if self.tools is not None and mem.recall_k > 0 and user_text.strip():
            memories = await self.tools.recall(user_text, mem.recall_k, mem.recall_budget_ms / 1000)
        if memories:
            system += "\n\nThings you remember about the user (use them when relevant):\n" + "\n".join(
                f"- {m}" for m in memories)
        budget = int(cfg.context_tokens * 0.75) - estimate_tokens(system) - estimate_tokens(user_text)
        past: list[dict[str, Any]] = []
        for row in reversed(await self.writer.recent(session_id, self.settings.memory.history_turns * 2 + 1)):
            if turn_id and row.get("turn_id") == turn_id:
                continue  # this turn's own user row, stored before the reply started
            content = row.get("heard") if row.get("interrupted") and row.get("heard") is not None else row["content"]
            if not (content or "").strip():
                continue  # a reply cut before a word was heard: the user just kept talking
            cost = estimate_tokens(content or "")
            if cost > budget:
                break  # older turns are dropped whole rather than cut mid-sentence
            budget -= cost
            past.append({"role": row["role"], "content": content or ""})
        past.reverse()
        return [{"role": "system", "content": system}, *past, {"role": "user", "content": user_text}]

    # --- one turn ----------------------------------------------------------------------------------
    async def reply(
        self, session_id: str, turn_id: str, user_text: str, *, confirmed: asyncio.Event | None = None,
        record_user: bool = True,
    ) -> AsyncIterator[Event]:
        """Yield LlmToken / ToolCall / ToolPending / ToolResult / ErrorEvent events for one reply.

        The user's message is stored first (unless the caller already did: `record_user=False`); the reply
        is stored by `record_reply`, by the caller, once it knows what was actually heard. A preemptive reply
        (started before the user's turn has surely ended) passes `confirmed`: then nothing is stored and no
        tool runs until it is set, so a reply that is thrown away leaves no trace; the caller stores the user
        row with `record_user` when it confirms the turn.
        """
        if confirmed is None and record_user:
            self.record_user(session_id, turn_id, user_text)
        messages = await self.build_messages(session_id, user_text, turn_id)
        tools: list[dict[str, Any]] = []
        if self.tools is not None:
            tools, down = await self.tools.ready_tools(TOOLS_WAIT_S)
            if down:  # say so, to the user and to the model, instead of silently offering nothing
                names = ", ".join(down)
                log.warning("turn %s: tools unavailable (%s)", turn_id[:8], names)
                yield ErrorEvent(turn_id=turn_id, code=ErrorCode.MCP_UNAVAILABLE, recoverable=True,
                                 message=f"tools unavailable ({names}): answering without them; run "
                                         "`python launch.py check` to see why")
                messages[0]["content"] += (f"\n\nYour tools from {names} are unavailable right now. If the user "
                                           "asks for something that needs them, say so plainly.")
        max_rounds = self.settings.ollama.max_tool_rounds
        try:
            for round_no in range(max_rounds + 1):
                offer = tools if tools and round_no < max_rounds else None
                text_parts: list[str] = []
                calls: list[tuple[str, dict[str, Any]]] = []
                async for delta in self.chat.stream(messages, offer):
                    if delta.text:
                        text_parts.append(delta.text)
                        yield LlmToken(turn_id=turn_id, text=delta.text)
                    calls.extend(delta.tool_calls)
                if not calls or offer is None:
                    if calls:  # the round bound is reached: a model asking again is not obeyed
                        log.info("tool round limit %d reached; ignoring %d call(s)", max_rounds, len(calls))
                    break
                messages.append({
                    "role": "assistant", "content": "".join(text_parts),
                    "tool_calls": [{"function": {"name": n, "arguments": a}} for n, a in calls],
                })
                if confirmed is not None:
                    await confirmed.wait()  # tools have effects: never for a turn the user has not finished
                for name, args in calls:
                    async for ev in self._run_tool(turn_id, name, args, messages):
                        yield ev
        except LlmError as exc:
            log.warning("turn %s: %s: %s", turn_id[:8], exc.code, exc.message)
            yield ErrorEvent(turn_id=turn_id, code=exc.code, message=exc.message, recoverable=True)
        yield LlmToken(turn_id=turn_id, text="", done=True)

    async def _run_tool(
        self, turn_id: str, name: str, args: dict[str, Any], messages: list[dict[str, Any]]
    ) -> AsyncIterator[Event]:
        yield ToolCall(turn_id=turn_id, name=name, arguments=args)
        assert self.tools is not None
        task = asyncio.ensure_future(self.tools.call(name, args))
        try:
            done, _ = await asyncio.wait({task}, timeout=SLOW_TOOL_S)
            if not done:
                yield ToolPending(turn_id=turn_id, name=name)
            outcome = await task
        finally:
            if not task.done():
                task.cancel()
        ok, content = bool(outcome.ok), str(outcome.content)
        yield ToolResult(turn_id=turn_id, name=name, ok=ok, content=content)
        if not ok:
            log.info("tool %s failed: %s", name, content)
            yield ErrorEvent(turn_id=turn_id, code=ErrorCode.TOOL_ERROR, recoverable=True,
                             message=f"tool {name} failed: {content}"[:500])
        messages.append({"role": "tool", "content": content if ok else f"ERROR: {content}", "tool_name": name})

    def record_user(self, session_id: str, turn_id: str, text: str) -> None:
        """Queue the user's row at once (never blocks; written in order even while the database is locked)."""
        self.writer.append(session_id, "user", text, turn_id=turn_id)

    def record_reply(
        self, session_id: str, turn_id: str, text: str, *, interrupted: bool = False, heard: str | None = None
    ) -> None:
        """Memory gating: store a finished reply, or the interrupted one with what was heard; never a discarded
        one, nor an empty one (a reply cut before its first word leaves no row)."""
        if turn_id in self._discarded:
            self._discarded.discard(turn_id)
            return
        if not text:
            return
        self.writer.append(session_id, "assistant", text, turn_id=turn_id, interrupted=interrupted, heard=heard)


    def discard_reply(self, turn_id: str) -> None:
        """The client cancelled this turn: its reply must not reach memory (the seed's `cancel`)."""
        self._discarded.add(turn_id)
