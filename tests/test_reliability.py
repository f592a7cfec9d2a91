"""No turn and no history row lost under faults: a locked database, a full disk, rapid messages, a model whose
stream is cut, tools that are down. Real SQLite, real Ollama client against the protocol-faithful simulator."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.ollama_sim import OllamaSim, Reply, Rule
from base.events import ErrorCode, ErrorEvent, Event, Sentence, TurnDone
from core.assistant import Assistant
from core.config import load_settings
from core.llm import OllamaChat
from core.memory import History
from realtime.audio_out import BufferedOutput
from realtime.engines import Engines
from realtime.tts.fallback import FallbackTTS
from realtime.voice_agent import VoiceAgent
from tests.fakes import ToneTTS

RULES = [Rule("story", [Reply("Once upon a time a fox lived in the woods. It was a clever fox. The end.")]),
         Rule("crash", [Reply("I was about to tell you something important about foxes and rabbits.",
                              cut_after=5)])]


def make_agent(url: str, db: Path) -> tuple[VoiceAgent, History, list[Event]]:
    s = load_settings(memory={"db_path": str(db), "embedder": "none"}, mcp={"enabled": False})
    s.ollama.host = url
    history = History(db)
    tts = FallbackTTS([ToneTTS()], sample_rate=22050)
    engines = Engines(s, None, tts, Assistant(s, OllamaChat(s.ollama), history), history)
    agent = VoiceAgent(engines, BufferedOutput(22050), listen=False)
    events: list[Event] = []
    agent.subscribe(events.append)
    return agent, history, events


def codes(events: list[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, ErrorEvent)]


@pytest.fixture
def sim() -> Iterator[OllamaSim]:
    with OllamaSim(RULES, first_token_s=0.02, tokens_per_s=300) as s:
        yield s


async def test_locked_database_keeps_the_turn_and_saves_it_when_released(sim: OllamaSim, tmp_path: Path) -> None:
    agent, history, events = make_agent(sim.url, tmp_path / "a.db")
    holder = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    tick = asyncio.create_task(ticker())
    await agent.submit_text("tell me a story")
    await asyncio.wait_for(agent.wait_idle(), 20)
    done = [e for e in events if isinstance(e, TurnDone)]
    assert done and not done[0].interrupted  # the turn ended normally, locked database or not
    for _ in range(500):  # bounded: the writer reports after its quick retry
        if ErrorCode.HISTORY_UNAVAILABLE in codes(events):
            break
        await asyncio.sleep(0.02)
    assert ErrorCode.HISTORY_UNAVAILABLE in codes(events)
    assert agent.engines.assistant.writer.pending == 2  # both rows kept in memory, none dropped
    assert ticks > 20  # the event loop kept running while SQLite waited for its lock
    holder.execute("ROLLBACK")
    holder.close()
    assert await agent.engines.assistant.writer.flush(timeout=15)
    rows = history.recent(agent.session_id, 10)
    assert [(r["role"], r["content"][:10]) for r in rows] == [("user", "tell me a "), ("assistant", "Once upon ")]
    tick.cancel()
    await agent.aclose()


async def test_healthy_database_saves_without_any_error(sim: OllamaSim, tmp_path: Path) -> None:
    """The positive control of the test above: the same turn, no lock, no error, rows saved."""
    agent, history, events = make_agent(sim.url, tmp_path / "a.db")
    await agent.submit_text("tell me a story")
    await asyncio.wait_for(agent.wait_idle(), 20)
    assert await agent.engines.assistant.writer.flush(timeout=5)
    assert codes(events) == [] and len(history.recent(agent.session_id, 10)) == 2
    await agent.aclose()


@contextlib.contextmanager
def tiny_filesystem(where: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: the disk that fills up. Needs root (CI and the dev machines run as root)."""
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], capture_output=True)
    if proc.returncode:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test (needs root): {proc.stderr.decode()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


async def test_full_disk_keeps_the_turn_and_saves_it_when_space_returns(sim: OllamaSim, tmp_path: Path) -> None:
    with tiny_filesystem(tmp_path / "disk") as disk:
        agent, history, events = make_agent(sim.url, disk / "a.db")
        filler = disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as f:
            while True:  # fill every byte that is left
                f.write(b"\0" * 4096)
                f.flush()
        await agent.submit_text("tell me a story")
        await asyncio.wait_for(agent.wait_idle(), 20)
        assert any(isinstance(e, TurnDone) for e in events)
        for _ in range(500):
            if ErrorCode.HISTORY_UNAVAILABLE in codes(events):
                break
            await asyncio.sleep(0.02)
        message = next(e.message for e in events if isinstance(e, ErrorEvent))
        assert "full" in message and "kept in memory" in message
        filler.unlink()  # the user frees space
        assert await agent.engines.assistant.writer.flush(timeout=15)
        assert [r["role"] for r in history.recent(agent.session_id, 10)] == ["user", "assistant"]
        await agent.aclose()
        history.close()


async def test_rapid_messages_keep_every_row_in_order(sim: OllamaSim, tmp_path: Path) -> None:
    agent, history, events = make_agent(sim.url, tmp_path / "a.db")
    for text in ("tell me a story", "no, a story about a bear", "actually, a story about a cat"):
        await agent.submit_text(text)  # each supersedes the one before within milliseconds
    await asyncio.wait_for(agent.wait_idle(), 20)
    assert await agent.engines.assistant.writer.flush(timeout=5)
    rows = history.recent(agent.session_id, 20)
    users = [r["content"] for r in rows if r["role"] == "user"]
    assert users == ["tell me a story", "no, a story about a bear", "actually, a story about a cat"]
    assert all(r["content"] for r in rows)  # no empty assistant row for the replies cut before a word
    assert rows[-1]["role"] == "assistant" and not rows[-1]["interrupted"]
    assert sum(isinstance(e, TurnDone) for e in events) == 3  # every turn ended with turn_done
    await agent.aclose()


async def test_cut_stream_is_said_aloud_and_stored_as_cut(sim: OllamaSim, tmp_path: Path) -> None:
    agent, history, events = make_agent(sim.url, tmp_path / "a.db")
    await agent.submit_text("crash now please")
    await asyncio.wait_for(agent.wait_idle(), 20)
    assert ErrorCode.LLM_STREAM_CUT in codes(events) and ErrorCode.LLM_UNAVAILABLE not in codes(events)
    spoken = [e.text for e in events if isinstance(e, Sentence)]
    assert spoken[-1] == "Sorry, my answer was cut off. Please ask me again."
    assert await agent.engines.assistant.writer.flush(timeout=5)
    reply = history.recent(agent.session_id, 10)[-1]
    assert reply["role"] == "assistant" and reply["interrupted"]  # the next turn knows it was cut
    assert reply["content"].startswith("I was about to")
    await agent.aclose()


@pytest.mark.slow
async def test_a_turn_says_when_its_tools_are_down(sim: OllamaSim, tmp_path: Path) -> None:
    from core.mcp_client.toolbox import McpToolBox

    s = load_settings(memory={"db_path": str(tmp_path / "a.db"), "chroma_path": str(tmp_path / "c"),
                              "embedder": "none"},
                      mcp={"enabled": True, "extra_servers": [
                          {"name": "broken", "command": sys.executable, "args": ["-c", "raise SystemExit(3)"]}]})
    s.ollama.host = sim.url
    box = McpToolBox(s)
    await box.start()
    history = History(tmp_path / "a.db")
    assistant = Assistant(s, OllamaChat(s.ollama), history, box)
    events: list[Any] = [ev async for ev in assistant.reply(history.new_session(), "t1", "tell me a story")]
    await box.aclose()
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert errors and errors[0].code == ErrorCode.MCP_UNAVAILABLE and "broken" in errors[0].message
    system = sim.chat_requests()[-1]["messages"][0]["content"]
    assert "unavailable right now" in system  # the model knows, so it can say so instead of pretending
    tools = {t["function"]["name"] for t in sim.chat_requests()[-1].get("tools") or []}
    assert "remember" in tools  # the built-in server is up: its tools are still offered (positive control)
