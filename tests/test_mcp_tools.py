"""The built-in tools, called in-process (no subprocess): what the user would hear back, and the rows kept."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from mcp_server.server import ServerOptions, build_server, parse_options


class Tools:
    def __init__(self, tmp: Path) -> None:
        self.db_path = tmp / "tools.db"
        self.server = build_server(ServerOptions(self.db_path, tmp / "chroma", "none"))

    async def __call__(self, tool: str, /, **args: object) -> str:
        result = await self.server.call_tool(tool, dict(args))
        return "\n".join(c.text for c in result.content)  # type: ignore[union-attr]

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def tools(tmp_path: Path) -> Tools:
    return Tools(tmp_path)


async def test_movies_same_title_needs_the_year(tools: Tools) -> None:
    await tools("add_movie", title="Dune", year=1984)
    await tools("add_movie", title="Dune", year=2021, genre="Sci-Fi")
    with pytest.raises(ToolError, match="Give the year"):
        await tools("rate_movie", title="dune", rating=8)
    assert "Dune (2021), sci-fi, rated 8/10" in await tools("rate_movie", title="dune", rating=8, year=2021)
    assert await tools("list_movies", year=1984) == "1 movie(s): Dune (1984)."
    assert "Removed Dune (1984)" in await tools("remove_movie", title="Dune", year=1984)
    assert tools.rows("SELECT title, year, rating FROM movies") == [("Dune", 2021, 8.0)]


async def test_music_likes_and_playlists(tools: Tools) -> None:
    assert (
        await tools("like_music", artist="Daft Punk", track="Get Lucky") == "Liked: Get Lucky by Daft Punk."
    )
    assert await tools("like_music", artist="Björk") == "Liked: Björk."
    await tools("add_track", title="Around the World", artist="daft punk", album="Homework")
    assert "on playlist Running" in await tools("add_to_playlist", playlist="Running", track="get lucky")
    await tools("add_to_playlist", playlist="running", track="Around the World")
    assert await tools("show_playlist", name="RUNNING") == (
        "Playlist Running: Get Lucky by Daft Punk; Around the World by Daft Punk."
    )
    assert await tools("show_playlist") == "Playlists: Running."
    liked = await tools("list_music", what="tracks", liked_only=True)
    assert "Get Lucky" in liked and "Around the World" not in liked
    assert await tools("list_music", what="artists", liked_only=True) == "1 artists: Björk (liked)."
    with pytest.raises(ToolError, match="Give the artist"):
        await tools("add_to_playlist", playlist="Running", track="Unknown Song")
    assert tools.rows("SELECT COUNT(*) FROM artists") == [(2,)]  # "daft punk" matched "Daft Punk"


async def test_projects_tasks_status_and_dates(tools: Tools) -> None:
    soon = (date.today() + timedelta(days=3)).isoformat()
    past = (date.today() - timedelta(days=1)).isoformat()
    assert await tools("add_project", name="Kitchen", due=soon) == f"Created project Kitchen, due {soon}."
    with pytest.raises(ToolError, match="already exists"):
        await tools("add_project", name="kitchen")
    with pytest.raises(ToolError, match=r"YYYY-MM-DD.*Today is"):
        await tools("add_task", project="Kitchen", title="Tiles", due="31/12/2026")
    with pytest.raises(ToolError, match=r"No project is called Garage\. Known projects: Kitchen"):
        await tools("add_task", project="Garage", title="Sweep")
    await tools("add_task", project="kitchen", title="Buy tiles", due=past)
    await tools("add_task", project="Kitchen", title="Paint")
    assert "(overdue)" in await tools("list_tasks", due_before=soon)
    assert "is done" in await tools("update_task", project="Kitchen", task="buy tiles", status="done")
    assert await tools("list_tasks", status="todo") == "Paint (Kitchen): todo."
    assert "1 open task(s)" in await tools("list_projects")
    assert "paused" in await tools("update_project", name="Kitchen", status="paused")
    assert await tools("list_projects", status="active") == "No projects are active."
    with pytest.raises(ToolError, match="new status or a new due date"):
        await tools("update_task", project="Kitchen", task="Paint")
    assert tools.rows("SELECT title, status FROM tasks ORDER BY id") == [
        ("Buy tiles", "done"),
        ("Paint", "todo"),
    ]


async def test_memory_tools_say_memory_is_off(tools: Tools) -> None:
    for name, args in (("remember", {"text": "x"}), ("recall", {"query": "x"}), ("forget", {"memory": "x"})):
        with pytest.raises(ToolError, match="memory is switched off"):
            await tools(name, **args)


async def test_empty_text_is_refused(tools: Tools) -> None:
    with pytest.raises(ToolError, match="title must not be empty"):
        await tools("rate_movie", title="   ", rating=5)


def test_command_line_overrides_config(tmp_path: Path) -> None:
    opts = parse_options(["--tools-db", str(tmp_path / "t.db"), "--embedder", "none"])
    assert opts.tools_db == tmp_path / "t.db" and opts.embedder == "none"
    assert opts.chroma_path.name == "chroma"  # from config/config.yaml (memory.chroma_path)
