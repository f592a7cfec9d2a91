"""The agent: a livekit `AgentSession` built by app.livekit_agent over our engines, driven with text input
(livekit's own run/expect helpers) against the scripted Ollama server, with a real MCP tool call."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from livekit.agents.voice.run_result import RunResult

from app.livekit_agent import AssistantAgent, build_session, event_payload
from app.ollama_sim import OllamaSim, Reply, Rule
from base.events import Event, ToolCall, ToolResult
from core.assistant import Assistant
from core.config import load_settings
from core.llm import OllamaChat
from core.mcp_client.toolbox import McpToolBox
from core.memory import History
from realtime.engines import Engines
from realtime.tts.fallback import FallbackTTS
from tests.mcp_helpers import SAMPLE_SERVER
from tests.wsclient import ToneVoice

RULES = [
    Rule("echo", [Reply("", [{"name": "sample__echo", "arguments": {"text": "pineapple"}}]),
                  Reply("The echo tool said pineapple.")]),
    Rule("hello", [Reply("Hello there. Nice to meet you.")]),
]


async def test_session_answers_typed_input_with_tools_and_history(tmp_path: Path) -> None:
    settings = load_settings(
        memory={"db_path": str(tmp_path / "a.db"), "chroma_path": str(tmp_path / "chroma"), "embedder": "none"},
        mcp={"enabled": True, "extra_servers": [{"name": "sample", "command": sys.executable,
                                                 "args": [str(SAMPLE_SERVER)]}]})
    with OllamaSim(RULES, first_token_s=0.05, tokens_per_s=200) as sim:
        settings.ollama.host = sim.url
        history = History(settings.path(settings.memory.db_path))
        toolbox = McpToolBox(settings)
        await toolbox.start()
        engines = Engines(settings, None, FallbackTTS([ToneVoice()], sample_rate=22050),
                          Assistant(settings, OllamaChat(settings.ollama), history, toolbox), history, toolbox)
        session_id = history.new_session("LiveKit test room")
        seen: list[Event] = []
        session, _ = build_session(engines, session_id=session_id, on_event=seen.append)
        try:
            async with session:
                await session.start(AssistantAgent(settings))
                result: RunResult[None] = await session.run(user_input="Hello!")
                result.expect.next_event().is_message(role="assistant")
                result.expect.no_more_events()
                result = await session.run(user_input="Please echo pineapple")
                msg = result.expect.next_event().is_message(role="assistant").event().item
                assert msg.text_content == "The echo tool said pineapple."
        finally:
            await engines.aclose()
    assert [e.name for e in seen if isinstance(e, ToolCall)] == ["sample__echo"]
    result_ev = next(e for e in seen if isinstance(e, ToolResult))
    assert result_ev.ok and event_payload(result_ev) is not None and b"pineapple" in (event_payload(result_ev) or b"")
    rows = history.recent(session_id, 10)
    assert [(r["role"], r["content"]) for r in rows] == [
        ("user", "Hello!"), ("assistant", "Hello there. Nice to meet you."),
        ("user", "Please echo pineapple"), ("assistant", "The echo tool said pineapple.")]
    # the second turn's request carried the first turn from our History (livekit's context is not used)
    second = sim.chat_requests()[-1]["messages"]
    assert any(m["role"] == "assistant" and m["content"] == "Hello there. Nice to meet you." for m in second)


async def test_session_uses_our_turn_detection(tmp_path: Path) -> None:
    settings = load_settings(memory={"db_path": str(tmp_path / "a.db"), "embedder": "none"}, mcp={"enabled": False})
    history = History(settings.path(settings.memory.db_path))
    engines = Engines(settings, None, FallbackTTS([ToneVoice()], sample_rate=22050),
                      Assistant(settings, OllamaChat(settings.ollama), history, None), history, None)
    session, _ = build_session(engines, session_id=history.new_session())
    opts = session.options
    assert session.turn_detection == "stt" and opts.interruption["enabled"]
    assert opts.endpointing["min_delay"] == 0.0  # our Listener already waited vad.silence_ms
    assert not opts.preemptive_generation["enabled"]
    assert session.tts is not None and session.tts.sample_rate == 22050


@pytest.mark.parametrize("argv", [[], ["serve"]])
def test_cli_refuses_unknown_commands(argv: list[str]) -> None:
    from app.livekit_agent import run

    assert run(load_settings(), argv) == 2
