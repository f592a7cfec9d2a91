"""McpToolBox against the real MCP server subprocess, real SQLite and real Chroma in temp folders."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from ollama._types import Tool

from core.config import Settings, load_settings
from core.mcp_client.toolbox import McpToolBox
from tests.mcp_helpers import SAMPLE_SERVER, server_pids

# One tool box (two server processes) is shared by the module's tests: spawning is the slow part.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def make_settings(tmp: Path, *, embedder: str = "none", timeout_s: float = 20.0) -> Settings:
    return load_settings(
        memory={
            "db_path": str(tmp / "assistant.db"),
            "chroma_path": str(tmp / "chroma"),
            "embedder": embedder,
        },
        mcp={
            "enabled": True,
            "call_timeout_s": timeout_s,
            "extra_servers": [{"name": "sample", "command": sys.executable, "args": [str(SAMPLE_SERVER)]}],
        },
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def box(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[McpToolBox]:
    toolbox = McpToolBox(make_settings(tmp_path_factory.mktemp("tools"), timeout_s=3.0))
    await toolbox.start()
    yield toolbox
    await toolbox.aclose()


async def test_rated_movie_is_a_row_and_found_by_min_rating(box: McpToolBox) -> None:
    out = await box.call("rate_movie", {"title": "Inception", "rating": 9, "year": 2010, "genre": "sci-fi"})
    assert out.ok, out.content
    assert "Inception" in out.content
    assert (await box.call("rate_movie", {"title": "Cats", "rating": 3})).ok

    with sqlite3.connect(box.settings.path(box.settings.memory.db_path).parent / "tools.db") as conn:
        rows = conn.execute("SELECT title, rating, year, genre FROM movies ORDER BY title").fetchall()
    assert rows == [("Cats", 3.0, None, None), ("Inception", 9.0, 2010, "sci-fi")]

    good = await box.call("list_movies", {"min_rating": 8})
    assert good.ok and "Inception" in good.content and "Cats" not in good.content
    scifi = await box.call("list_movies", {"genre": "Sci-Fi"})
    assert "Inception" in scifi.content and "Cats" not in scifi.content


async def test_tool_problems_come_back_as_failed_outcomes(box: McpToolBox) -> None:
    unknown = await box.call("launch_rockets", {})
    assert not unknown.ok and "no tool called launch_rockets" in unknown.content
    assert "rate_movie" in unknown.content  # tells the model what it can call instead

    too_high = await box.call("rate_movie", {"title": "Inception", "rating": 11})
    assert not too_high.ok
    assert "Bad arguments for rate_movie" in too_high.content and "rating" in too_high.content
    assert "pydantic.dev" not in too_high.content

    missing = await box.call("rate_movie", {"rating": 5})
    assert not missing.ok and "title" in missing.content

    bad_date = await box.call("add_project", {"name": "Garden", "due": "next friday"})
    assert not bad_date.ok and "YYYY-MM-DD" in bad_date.content

    raising = await box.call("sample__explode", {})
    assert not raising.ok and "explode" in raising.content and "failed" in raising.content

    not_a_dict = await box.call("list_movies", "genre=drama")  # type: ignore[arg-type]
    assert not not_a_dict.ok and "JSON object" in not_a_dict.content

    assert (await box.call("sample__echo", {"text": "still fine"})).content == "still fine"


async def test_slow_tool_times_out_and_the_server_keeps_working(box: McpToolBox) -> None:
    slow = await box.call("sample__slow", {"seconds": 30})
    assert not slow.ok and "did not answer within 3 seconds" in slow.content
    assert (await box.call("sample__echo", {"text": "hi"})).ok


async def test_server_killed_mid_call_fails_that_call_then_restarts(box: McpToolBox) -> None:
    [pid] = server_pids("mcp_sample_server")
    call = asyncio.create_task(box.call("sample__slow", {"seconds": 2.5}))
    await asyncio.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    outcome = await call
    assert not outcome.ok and "stopped" in outcome.content

    after = await box.call("sample__echo", {"text": "back"})
    assert after.ok and after.content == "back"
    assert server_pids("mcp_sample_server") not in ([], [pid])


async def test_builtin_server_killed_while_idle_is_restarted_with_data_intact(box: McpToolBox) -> None:
    assert (await box.call("add_project", {"name": "Garden", "due": "2030-05-01"})).ok
    [pid] = server_pids("mcp_server")
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    listed = await box.call("list_projects", {})
    assert listed.ok and "Garden" in listed.content and "2030-05-01" in listed.content
    assert box.status()[0][:2] == ("mcp tools (built-in)", True)


async def test_ollama_tools_are_flat_and_namespaced(box: McpToolBox) -> None:
    tools = box.ollama_tools()
    names = [t["function"]["name"] for t in tools]
    assert "rate_movie" in names and "recall" in names and "sample__echo" in names
    assert len(names) == len(set(names))
    for tool in tools:
        Tool.model_validate(tool)
        for prop in tool["function"]["parameters"]["properties"].values():
            assert "anyOf" not in prop and "title" not in prop and "type" in prop


async def test_memory_off_is_reported_and_recall_is_empty(box: McpToolBox) -> None:
    out = await box.call("remember", {"text": "I like tea"})
    assert not out.ok and "switched off" in out.content
    assert await box.recall("what do I drink?", 3, 2.0) == []
    components = {row[0]: row for row in box.status()}
    assert components["memory"][1] and "off" in components["memory"][2]
    assert components["mcp server sample"][1]


async def test_disabled_tools_and_a_broken_extra_server(tmp_path: Path) -> None:
    off = McpToolBox(load_settings(mcp={"enabled": False}))
    await off.start()
    assert off.ollama_tools() == []
    assert not (await off.call("rate_movie", {"title": "x", "rating": 1})).ok
    await off.aclose()

    settings = make_settings(tmp_path)
    settings.mcp.extra_servers[0].args = ["-c", "import sys; sys.exit('no such server config')"]
    broken = McpToolBox(settings)
    await broken.start()
    try:
        status = {row[0]: row for row in broken.status()}
        assert status["mcp tools (built-in)"][1]
        ok, detail, fix = status["mcp server sample"][1:]
        assert not ok and "no such server config" in detail and "sample" in fix
        assert (await broken.call("list_movies", {})).ok
        missing = await broken.call("sample__echo", {"text": "x"})
        assert not missing.ok
    finally:
        await broken.aclose()


@pytest.mark.slow
async def test_remembered_fact_survives_a_restart_and_is_recalled_by_meaning(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, embedder="minilm", timeout_s=120.0)
    first = McpToolBox(settings)
    await first.start()
    try:
        for fact in ("I am allergic to peanuts", "My sister is called Clara", "I work as a nurse"):
            out = await first.call("remember", {"text": fact})
            assert out.ok and fact in out.content
        again = await first.call("remember", {"text": "I am allergic to peanuts"})
        assert "Already remembered" in again.content
    finally:
        await first.aclose()

    docs = _chroma_documents(tmp_path / "chroma")
    assert sorted(docs) == ["I am allergic to peanuts", "I work as a nurse", "My sister is called Clara"]

    second = McpToolBox(settings)
    await second.start()
    try:
        assert await second.recall("what can't I eat?", 1, 120.0) == ["I am allergic to peanuts"]
        assert await second.recall("what is the weather like?", 3, 30.0) == []  # nothing relevant
        forgot = await second.call("forget", {"memory": "the name of my sister"})
        assert forgot.ok and "Clara" in forgot.content
        listed = await second.call("recall", {"query": "family", "k": 5})
        assert listed.ok and "Clara" not in listed.content and "peanuts" in listed.content
    finally:
        await second.aclose()


def _chroma_documents(path: Path) -> list[Any]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    [collection] = client.list_collections()
    return list(collection.get()["documents"] or [])
