"""MCP test helpers: the sample server script and a way to find its processes."""

from __future__ import annotations

import os
from pathlib import Path

SAMPLE_SERVER = Path(__file__).resolve().parent / "mcp_sample_server.py"


def server_pids(marker: str) -> list[int]:
    """PIDs of this process's children whose command line contains `marker` (stdio_client hides them)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and marker in cmdline:
            pids.append(int(entry.name))
    return pids
