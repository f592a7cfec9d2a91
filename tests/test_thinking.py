"""Issue 4 end to end: the assistant, a scripted Ollama calling tools, the real MCP subprocess, SQLite, Chroma.

A 'restart' is a new tool box, assistant and history over the same folders, as after quitting the app.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from app.ollama_sim import OllamaSim, Reply, Rule
from base.events import ErrorEvent, Event, LlmToken, ToolCall, ToolResult
from core.assistant import Assistant
from core.config import Settings, load_settings
from core.llm import OllamaChat
from core.mcp_client.toolbox import McpToolBox
from core.memory import History
from tests.mcp_helpers import SAMPLE_SERVER, server_pids

RULES = [
    Rule("remember that", [Reply("", [{"name": "remember", "arguments": {"text": "I am allergic to peanuts"}}]),
                           Reply("Got it, I will remember that.")]),
    Rule("can't I eat", [Reply("You told me you are allergic to peanuts, so avoid them.")]),
    Rule("rate inception", [Reply("", [{"name": "rate_movie", "arguments": {"title": "Inception", "rating": 9}}]),
                            Reply("Inception now has a nine.")]),
    Rule("above 8", [Reply("", [{"name": "list_movies", "arguments": {"min_rating": 8}}]),
                     Reply("You rated Inception above eight.")]),
    Rule("broken call", [Reply("", [{"name": "rate_movie", "arguments": {"title": "X", "rating": "lots"}}]),
                         Reply("That did not work.")]),
    Rule("unknown tool", [Reply("", [{"name": "launch_rockets", "arguments": {}}]), Reply("No rockets.")]),
    Rule("explode", [Reply("", [{"name": "sample__explode", "arguments": {}}]), Reply("It broke.")]),
    Rule("slow call", [Reply("", [{"name": "sample__slow", "arguments": {"seconds": 3}}]), Reply("Slow done.")]),
]


def settings_for(tmp: Path, url: str, embedder: str = "minilm") -> Settings:
    s = load_settings(
        memory={"db_path": str(tmp / "assistant.db"), "chroma_path": str(tmp / "chroma"), "embedder": embedder,
                "recall_budget_ms": 3000},
        mcp={"enabled": True, "call_timeout_s": 20,
             "extra_servers": [{"name": "sample", "command": sys.executable, "args": [str(SAMPLE_SERVER)]}]},
    )
    s.ollama.host = url
    return s


class Session:
    """One run of the app: history, tools, assistant."""

    def __init__(self, settings: Settings) -> None:
        self.history = History(settings.path(settings.memory.db_path))
        self.tools = McpToolBox(settings)
        self.assistant = Assistant(settings, OllamaChat(settings.ollama), self.history, self.tools)
        self.session_id = self.history.new_session()

    async def turn(self, text: str) -> list[Event]:
        events = [ev async for ev in self.assistant.reply(self.session_id, f"t{len(text)}", text)]
        reply = "".join(e.text for e in events if isinstance(e, LlmToken))
        self.assistant.record_reply(self.session_id, "t", reply)
        await self.assistant.writer.flush()  # rows are written off the loop: wait for them before reading
        return events

    async def close(self) -> None:
        await self.tools.aclose()
        self.history.close()


@pytest.mark.slow
async def test_remembers_across_a_restart_and_uses_the_movie_table(tmp_path: Path) -> None:
    with OllamaSim(RULES, first_token_s=0.0, tokens_per_s=500) as sim:
        s = settings_for(tmp_path, sim.url)
        one = Session(s)
        await one.tools.start()
        ev = await one.turn("Please remember that I am allergic to peanuts")
        assert [e.name for e in ev if isinstance(e, ToolCall)] == ["remember"]
        assert all(e.ok for e in ev if isinstance(e, ToolResult))
        ev = await one.turn("Rate Inception 9 out of 10")
        assert any(isinstance(e, ToolResult) and e.ok and e.name == "rate_movie" for e in ev)
        await one.close()

        with sqlite3.connect(tmp_path / "tools.db") as db:
            assert db.execute("SELECT title, rating FROM movies").fetchall() == [("Inception", 9.0)]

        two = Session(s)  # the restart
        await two.tools.start()
        # the embedder loads in the server's background: give the first recall time like a user would
        for _ in range(60):
            if await two.tools.recall("what can't I eat?", 3, 3.0):
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError("the remembered fact was never recalled after the restart (60 tries)")
        await two.turn("What can't I eat?")
        system = sim.chat_requests()[-1]["messages"][0]["content"]
        assert "allergic to peanuts" in system
        ev = await two.turn("What movies did I rate above 8?")
        listed = next(e for e in ev if isinstance(e, ToolResult) and e.name == "list_movies")
        assert listed.ok and "Inception" in listed.content
        assert "Inception" in sim.chat_requests()[-1]["messages"][-1]["content"]
        await two.close()


@pytest.mark.slow
async def test_faults_give_coded_errors_and_the_next_turn_works(tmp_path: Path) -> None:
    with OllamaSim(RULES, first_token_s=0.0, tokens_per_s=500) as sim:
        s = settings_for(tmp_path, sim.url, embedder="none")
        sess = Session(s)
        await sess.tools.start()
        asked = 0

        async def expect_tool_error(text: str) -> None:
            nonlocal asked
            ev = await sess.turn(text)
            asked += 1
            errors = [e for e in ev if isinstance(e, ErrorEvent)]
            assert errors and errors[0].code == "TOOL_ERROR", ev
            assert isinstance(ev[-1], LlmToken) and ev[-1].done
            assert "".join(e.text for e in ev if isinstance(e, LlmToken))  # the model still answered

        await expect_tool_error("a broken call please")       # malformed arguments
        await expect_tool_error("use an unknown tool")        # a tool that does not exist
        await expect_tool_error("explode")                    # a tool that raises

        # the MCP server killed in the middle of a call: that call fails, the next turn works
        task = asyncio.create_task(sess.turn("a slow call"))
        pids: list[int] = []
        for _ in range(100):
            pids = server_pids(str(SAMPLE_SERVER))
            if pids and len(sim.chat_requests()) > asked:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the slow call never reached a running sample server within 5 s (pids {pids})")
        await asyncio.sleep(0.5)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        ev = await task
        asked += 1
        assert any(isinstance(e, ErrorEvent) and e.code == "TOOL_ERROR" for e in ev)
        ev = await sess.turn("explode")  # restarted: the tool runs (and raises as it always does)
        result = next(e for e in ev if isinstance(e, ToolResult))
        assert "not running" not in result.content.lower() and "died" not in result.content.lower()
        ev = await sess.turn("Rate Inception 9 out of 10")
        assert any(isinstance(e, ToolResult) and e.ok for e in ev)

        rows = sess.history.recent(sess.session_id, 100)
        assert [r["role"] for r in rows] == ["user", "assistant"] * 6  # no history row lost
        await sess.close()


@pytest.mark.slow
async def test_llm_faults_keep_history_whole(tmp_path: Path) -> None:
    outcomes: list[Any] = []
    with OllamaSim(RULES, first_token_s=0.0, tokens_per_s=500, models=("other:latest",)) as sim:
        s = settings_for(tmp_path, sim.url, embedder="none")
        s.mcp.enabled = False
        sess = Session(s)
        sess.assistant.tools = None
        ev = await sess.turn("hello")
        outcomes.append(next(e.code for e in ev if isinstance(e, ErrorEvent)))
        sim.models = ("mistral:latest",)
        ev = await sess.turn("hello again")
        assert not any(isinstance(e, ErrorEvent) for e in ev)
        sim.hang = True
        s.ollama.first_token_timeout_s = 0.5
        sess.assistant.chat = OllamaChat(s.ollama)
        ev = await sess.turn("are you there")
        outcomes.append(next(e.code for e in ev if isinstance(e, ErrorEvent)))
        sim.hang = False
    assert outcomes == ["LLM_MODEL_MISSING", "LLM_TIMEOUT"]
    rows = sess.history.recent(sess.session_id, 100)
    assert [r["content"] for r in rows if r["role"] == "user"] == ["hello", "hello again", "are you there"]
    sess.history.close()
