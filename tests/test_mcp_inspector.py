"""The official MCP Inspector (CLI mode) sees the built-in server's tools and calls one.

The inspector is an npm package installed into the git-ignored .tools folder:
`npm install --prefix .tools @modelcontextprotocol/inspector`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSPECTOR = ROOT / ".tools" / "node_modules" / ".bin" / "mcp-inspector"


def inspect(tmp: Path, *method: str) -> dict:
    if not INSPECTOR.exists():
        pytest.fail(
            f"{INSPECTOR} is missing: run `npm install --prefix .tools @modelcontextprotocol/inspector`"
        )
    server = [
        sys.executable,
        "-m",
        "mcp_server",
        "--tools-db",
        str(tmp / "tools.db"),
        "--chroma-path",
        str(tmp / "chroma"),
        "--embedder",
        "none",
    ]
    done = subprocess.run(
        [str(INSPECTOR), "--cli", *server, *method], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_inspector_lists_tools_and_calls_rate_movie(tmp_path: Path) -> None:
    listed = inspect(tmp_path, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}
    assert {"remember", "recall", "forget", "rate_movie", "list_movies", "add_task", "like_music"} <= names

    called = inspect(
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "rate_movie",
        "--tool-arg",
        "title=Inception",
        "--tool-arg",
        "rating=9",
    )
    assert not called.get("isError")
    assert called["content"][0]["text"] == "Added: Inception, rated 9/10."

    found = inspect(
        tmp_path, "--method", "tools/call", "--tool-name", "list_movies", "--tool-arg", "min_rating=8"
    )
    assert "Inception" in found["content"][0]["text"]
