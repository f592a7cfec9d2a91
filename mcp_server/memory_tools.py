"""Memory tools: remember, recall and forget facts about the user, kept across restarts."""

from __future__ import annotations

import re
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import Field

from mcp_server.db import clean, tool
from mcp_server.vector_memory import FORGET_MAX_DISTANCE, Memory, MemoryStore

MEMORY_ID = re.compile(r"^m-[0-9a-f]{8}$")
OFF = (
    "Long-term memory is switched off (memory.embedder is none in config/config.yaml); "
    "tell the user it can be turned on by setting memory.embedder to minilm."
)


def _store(store: MemoryStore | None) -> MemoryStore:
    if store is None:
        raise ToolError(OFF)
    return store


def register(server: MCPServer, store: MemoryStore | None) -> None:
    @tool(server)
    def remember(
        text: Annotated[
            str, Field(description="One fact in a short sentence, e.g. 'The user is allergic to peanuts'")
        ],
    ) -> str:
        """Save a lasting fact about the user (preferences, people, health, plans) so it can be recalled in
        later conversations. Use when the user tells you something worth keeping or says "remember"."""
        fact = clean(text, "text", max_len=1000)
        assert fact is not None
        try:
            memory, created = _store(store).remember(fact)
        except RuntimeError as exc:
            raise ToolError(str(exc)) from exc
        if not created:
            return f"Already remembered (id {memory.id}): {memory.text}"
        return f"Remembered (id {memory.id}): {memory.text}"

    @tool(server)
    def recall(
        query: Annotated[str, Field(description="What to look for, e.g. 'food allergies'")],
        k: Annotated[int, Field(ge=1, le=20, description="How many memories to return")] = 3,
    ) -> CallToolResult:
        """Search saved facts about the user by meaning. Use before answering questions about the user's
        life, likes or plans."""
        question = clean(query, "query", max_len=1000)
        assert question is not None
        try:
            found = _store(store).recall(question, k)
        except RuntimeError as exc:
            raise ToolError(str(exc)) from exc
        text = (
            (
                "Memories, closest first:\n"
                + "\n".join(f"- {m.text} (id {m.id}, saved {m.created_at[:10]})" for m in found)
            )
            if found
            else "No memories saved yet."
        )
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content={"memories": [m.as_dict() for m in found]},
        )

    @tool(server)
    def forget(
        memory: Annotated[
            str, Field(description="A memory id like m-1a2b3c4d, or the fact to forget in words")
        ],
    ) -> str:
        """Delete one saved fact about the user, by its id or by describing it."""
        target = clean(memory, "memory", max_len=1000)
        assert target is not None
        mem_store = _store(store)
        try:
            found: Memory | None
            if MEMORY_ID.match(target):
                found = mem_store.get(target)
                if found is None:
                    raise ToolError(f"No memory has id {target}. Use recall to find the right id.")
            else:
                matches = mem_store.recall(target, 1)
                found = matches[0] if matches else None
                if found is None:
                    raise ToolError("There are no memories to forget.")
                if found.distance is not None and found.distance > FORGET_MAX_DISTANCE:
                    raise ToolError(
                        f"No memory closely matches {target!r}; the closest is {found.text!r} "
                        f"(id {found.id}). Call forget with that id if it is the right one."
                    )
            mem_store.delete(found.id)
        except RuntimeError as exc:
            raise ToolError(str(exc)) from exc
        return f"Forgot: {found.text}"
