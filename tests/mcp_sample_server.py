"""A small extra MCP server for the tool-box tests: a tool that fails, a slow one, and an echo.

Run as `python tests/mcp_sample_server.py`; the tests add it as an `mcp.extra_servers` entry.
"""

from __future__ import annotations

import time

from mcp.server import MCPServer

server: MCPServer = MCPServer("sample")


@server.tool()
def echo(text: str) -> str:
    """Repeat the text."""
    return text


@server.tool()
def explode() -> str:
    """Always fails, like a tool with a bug."""
    raise RuntimeError("database exploded")


@server.tool()
def slow(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return f"slept {seconds:g} s"


if __name__ == "__main__":
    server.run("stdio")
