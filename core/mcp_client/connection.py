"""One MCP server subprocess over stdio and its client session, restartable.

The mcp client's `stdio_client` and `ClientSession` are anyio context managers that must be entered and left
by the same task, so each connection has one runner task that opens them, publishes the session and then waits
to be told to stop. Calls from other tasks share that session. A server that died is noticed by a failed call
(the caller gets ConnectionError) or by a failed ping before the next call, which restarts it first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, Tool
from mcp_types import REQUEST_TIMEOUT

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
PING_TIMEOUT_S = 2.0
STDERR_TAIL = 4000


@dataclass(frozen=True)
class ServerSpec:
    name: str
    command: str
    args: list[str]
    env: dict[str, str] | None
    cwd: Path | None
    prefix: str  # put before each tool name given to the model ("" for the built-in server)

    @property
    def command_line(self) -> str:
        return shlex.join([self.command, *self.args])


class McpConnection:
    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.tools: list[Tool] = []
        self.error: str | None = None
        self._session: ClientSession | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._errlog: IO[bytes] | None = None
        self._background: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self._session is not None and self._runner is not None and not self._runner.done()

    async def start(self) -> None:
        """Spawn, initialize and list tools; raises ConnectionError with the server's last words."""
        async with self._lock:
            if self.alive:
                return
            await self._shutdown()
            self._stop = asyncio.Event()
            ready = asyncio.Event()
            self._runner = asyncio.create_task(self._run(ready), name=f"mcp-{self.spec.name}")
            try:
                await asyncio.wait_for(ready.wait(), START_TIMEOUT_S)
            except TimeoutError:
                self.error = f"{self.spec.name} did not finish starting within {START_TIMEOUT_S:g} s"
                await self._shutdown()
            if not self.alive:
                raise ConnectionError(self.error or f"{self.spec.name} stopped while starting")

    async def restart(self) -> None:
        await self.start()

    def restart_in_background(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._quiet_restart())

    async def _quiet_restart(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.start()

    async def _run(self, ready: asyncio.Event) -> None:
        params = StdioServerParameters(
            command=self.spec.command, args=self.spec.args, env=self.spec.env, cwd=self.spec.cwd
        )
        # O_APPEND: the child writes at the end even while stderr_tail() reads with pread.
        with tempfile.TemporaryFile(mode="a+b") as errlog:
            self._errlog = errlog
            try:
                async with (
                    stdio_client(params, errlog=errlog) as (read, write),  # type: ignore[arg-type]
                    ClientSession(read, write) as session,
                ):
                    await session.initialize()
                    self.tools = list((await session.list_tools()).tools)
                    self._session = session
                    self.error = None
                    ready.set()
                    await self._stop.wait()
            except Exception as exc:
                detail = self.stderr_tail() or f"{type(exc).__name__}: {exc}"
                self.error = f"{self.spec.name} failed: {detail}"
                log.warning("MCP server %s: %s", self.spec.name, self.error)
            finally:
                self._session = None
                self._errlog = None
                if self.error is not None:
                    self.tools = []
                ready.set()

    async def call(
        self, tool: str, arguments: dict[str, Any], timeout_s: float, *, check_alive: bool = True
    ) -> CallToolResult:
        """Raises TimeoutError when the tool is too slow, ConnectionError when the server is gone."""
        if check_alive:
            await self._ensure_alive()
        session = self._session
        if session is None:
            raise ConnectionError(f"the {self.spec.name} tools server is not running ({self.error})")
        try:
            return await session.call_tool(tool, arguments, read_timeout_seconds=timeout_s)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise TimeoutError(exc.message) from exc
            self._mark_dead(exc.message)
            raise ConnectionError(f"its tools server stopped ({exc.message})") from exc
        except (OSError, RuntimeError) as exc:
            self._mark_dead(str(exc))
            raise ConnectionError(f"its tools server failed ({type(exc).__name__}: {exc})") from exc

    async def _ensure_alive(self) -> None:
        """A cheap ping; a server that died while idle is restarted here instead of failing the call."""
        if self.alive and self._session is not None:
            try:
                await asyncio.wait_for(self._session.send_ping(), PING_TIMEOUT_S)
                return
            except (MCPError, OSError, TimeoutError) as exc:
                self._mark_dead(f"ping failed: {exc}")
        await self.start()

    def _mark_dead(self, why: str) -> None:
        self.error = f"{self.spec.name} stopped: {why}"
        self._session = None
        self._stop.set()

    def stderr_tail(self) -> str:
        """The last lines the server wrote to stderr, for error messages and `launch.py check`."""
        if self._errlog is None:
            return ""
        fd = self._errlog.fileno()
        size = os.fstat(fd).st_size
        raw = os.pread(fd, STDERR_TAIL, max(0, size - STDERR_TAIL)).decode("utf-8", "replace")
        lines = [ln.strip() for ln in raw.replace("\r", "\n").splitlines() if ln.strip()]
        return " | ".join(lines[-3:])

    async def _shutdown(self) -> None:
        self._stop.set()
        if self._runner is not None and not self._runner.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), 10)
            except TimeoutError:
                self._runner.cancel()
        self._runner = None
        self._session = None

    async def close(self) -> None:
        if self._background is not None:
            self._background.cancel()
        async with self._lock:
            await self._shutdown()
