"""Tool arguments are checked against the tool's JSON schema before the tool runs, and no tool reaches files
outside the configured data folder."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.config import PROJECT_ROOT, load_settings
from core.mcp_client.arguments import check_arguments
from core.mcp_client.toolbox import McpToolBox, builtin_spec
from mcp_server.server import ServerOptions, build_server

PATHLIKE = ("path", "file", "dir", "folder", "url", "uri", "command")


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("schemas")
    server = build_server(ServerOptions(tmp / "tools.db", tmp / "chroma", "none"))
    return {t.name: t.input_schema for t in asyncio.run(server.list_tools())}


@pytest.mark.parametrize(("tool", "args", "must_say"), [
    ("rate_movie", {"title": "Dune", "rating": 11}, "rating: 11 is greater than the maximum of 10"),
    ("rate_movie", {"rating": 5}, "'title' is a required property"),
    ("list_music", {"what": "albums"}, "what: 'albums' is not one of ['tracks', 'artists']"),
    ("recall", {"query": "food", "k": 500}, "k: 500 is greater than the maximum of 20"),
    ("add_movie", {"title": ["a", "list"]}, "title: ['a', 'list'] is not of type 'string'"),
    ("list_movies", {"year": "last year"}, "year: 'last year' is not of type 'integer'"),
])
def test_bad_arguments_are_named(schemas: dict[str, dict[str, Any]], tool: str, args: dict[str, Any],
                                 must_say: str) -> None:
    _, problem = check_arguments(tool, schemas[tool], args)
    assert problem.startswith(f"Bad arguments for {tool}: ") and must_say in problem
    assert problem.endswith(f"call {tool} again.")


def test_numbers_and_booleans_written_as_strings_are_accepted(schemas: dict[str, dict[str, Any]]) -> None:
    args, problem = check_arguments("rate_movie", schemas["rate_movie"], {"title": "8", "rating": "8.5",
                                                                          "year": "2010"})
    assert problem == "" and args == {"title": "8", "rating": 8.5, "year": 2010}  # a title stays a string
    args, problem = check_arguments("like_music", schemas["like_music"], {"artist": "Daft Punk", "liked": "false"})
    assert problem == "" and args["liked"] is False


def test_no_builtin_tool_takes_a_path_and_its_files_come_from_config(schemas: dict[str, dict[str, Any]]) -> None:
    names = {p for s in schemas.values() for p in (s.get("properties") or {})}
    assert not [n for n in names if any(word in n.lower() for word in PATHLIKE)], names
    spec = builtin_spec(load_settings())
    paths = [Path(spec.args[i + 1]) for i, a in enumerate(spec.args) if a in ("--tools-db", "--chroma-path")]
    data = PROJECT_ROOT / "data"
    assert len(paths) == 2 and all(p.is_relative_to(data) for p in paths), paths


async def test_the_tool_never_runs_with_arguments_its_schema_forbids(tmp_path: Path) -> None:
    settings = load_settings(memory={"db_path": str(tmp_path / "a.db"), "chroma_path": str(tmp_path / "c"),
                                     "embedder": "none"}, mcp={"enabled": True})
    box = McpToolBox(settings)
    await box.start()
    try:
        refused = await box.call("add_movie", {"title": "Dune", "year": 3000})
        assert not refused.ok and "year: 3000 is greater than the maximum of 2100" in refused.content
        assert (await box.call("add_movie", {"title": "Arrival", "year": "2016"})).ok  # lax string, converted
    finally:
        await box.aclose()
    with sqlite3.connect(tmp_path / "tools.db") as conn:
        assert conn.execute("SELECT title, year FROM movies").fetchall() == [("Arrival", 2016)]
