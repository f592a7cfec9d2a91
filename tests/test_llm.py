"""The assistant turn against a protocol-faithful Ollama server, through the official `ollama` client."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from app.ollama_sim import OllamaSim, Reply, Rule
from base.events import ErrorEvent, Event, LlmToken, ToolCall, ToolPending, ToolResult
from core.assistant import Assistant
from core.config import load_settings
from core.llm import OllamaChat
from tests.fakes import ListHistory, ScriptedTools
from tests.netutil import free_port
from tests.waiting import wait_for


def settings_for(url: str, **ollama: Any) -> Any:
    s = load_settings()
    s.ollama.host = url
    for k, v in ollama.items():
        setattr(s.ollama, k, v)
    return s


async def run_turn(assistant: Assistant, text: str, turn_id: str = "t1") -> list[Event]:
    return [ev async for ev in assistant.reply("s1", turn_id, text)]


async def test_streams_tokens_and_sends_the_user_message() -> None:
    with OllamaSim(first_token_s=0.01, tokens_per_s=500) as sim:
        history = ListHistory()
        a = Assistant(settings_for(sim.url), OllamaChat(settings_for(sim.url).ollama), history)
        events = await run_turn(a, "Hello there")
    tokens = [e for e in events if isinstance(e, LlmToken)]
    assert len(tokens) > 3 and tokens[-1].done
    assert "".join(t.text for t in tokens) == "I heard you say: Hello there. That is all I can tell you for now."
    sent = sim.chat_requests()[0]
    assert sent["model"] == "mistral" and sent["stream"] is True
    assert sent["messages"][0]["role"] == "system"
    assert sent["messages"][-1] == {"role": "user", "content": "Hello there"}
    assert history.rows[0]["role"] == "user" and history.rows[0]["content"] == "Hello there"


async def test_history_and_memories_reach_the_context() -> None:
    with OllamaSim(first_token_s=0.01, tokens_per_s=500) as sim:
        s = settings_for(sim.url)
        history = ListHistory()
        tools = ScriptedTools(memories=["The user is allergic to peanuts."])
        a = Assistant(s, OllamaChat(s.ollama), history, tools)
        await run_turn(a, "My name is Ada.")
        a.record_reply("s1", "t1", "Nice to meet you, Ada.")
        await run_turn(a, "What is my name?", "t2")
    msgs = sim.chat_requests()[-1]["messages"]
    assert "allergic to peanuts" in msgs[0]["content"]
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant", "user"]
    assert msgs[1]["content"] == "My name is Ada." and msgs[-1]["content"] == "What is my name?"


async def test_tool_call_round_trip() -> None:
    rule = Rule("rate", [
        Reply("Let me note that.", [{"name": "rate_movie", "arguments": {"title": "Inception", "rating": 9}}]),
        Reply("Done, Inception has a nine."),
    ])
    with OllamaSim([rule], first_token_s=0.01, tokens_per_s=500) as sim:
        s = settings_for(sim.url)
        tools = ScriptedTools({"rate_movie": lambda title, rating: f"rated {title} {rating}"})
        a = Assistant(s, OllamaChat(s.ollama), ListHistory(), tools)
        events = await run_turn(a, "Rate Inception 9 out of 10")
    assert tools.calls == [("rate_movie", {"title": "Inception", "rating": 9})]
    call = next(e for e in events if isinstance(e, ToolCall))
    result = next(e for e in events if isinstance(e, ToolResult))
    assert call.name == "rate_movie" and result.ok
    text = "".join(e.text for e in events if isinstance(e, LlmToken))
    assert text == "Let me note that.Done, Inception has a nine."
    second = sim.chat_requests()[1]["messages"]
    assert second[-1] == {"role": "tool", "content": "rated Inception 9", "tool_name": "rate_movie"}
    assert second[-2]["tool_calls"][0]["function"]["name"] == "rate_movie"
    assert sim.chat_requests()[0]["tools"][0]["function"]["name"] == "rate_movie"


async def test_bad_tool_call_goes_back_to_the_model_and_rounds_are_bounded() -> None:
    loop_rule = Rule("loop", [Reply("", [{"name": "nope", "arguments": {}}])])
    with OllamaSim([loop_rule], first_token_s=0.0, tokens_per_s=1000) as sim:
        s = settings_for(sim.url, max_tool_rounds=2)
        a = Assistant(s, OllamaChat(s.ollama), ListHistory(), ScriptedTools({"other": lambda: 1}))
        events = await run_turn(a, "loop forever")
    results = [e for e in events if isinstance(e, ToolResult)]
    assert len(results) == 2 and not any(r.ok for r in results)
    assert len(sim.chat_requests()) == 3  # two tool rounds, then a last request without tools
    assert "tools" not in sim.chat_requests()[-1] or not sim.chat_requests()[-1]["tools"]
    assert sim.chat_requests()[1]["messages"][-1]["content"].startswith("ERROR: unknown tool")
    assert isinstance(events[-1], LlmToken) and events[-1].done


async def test_slow_tool_is_announced() -> None:
    rule = Rule("slow", [Reply("", [{"name": "slow", "arguments": {}}]), Reply("Finished.")])
    with OllamaSim([rule], first_token_s=0.0, tokens_per_s=1000) as sim:
        s = settings_for(sim.url)
        a = Assistant(s, OllamaChat(s.ollama), ListHistory(), ScriptedTools({"slow": lambda: "ok"}, delay_s=1.3))
        events = await run_turn(a, "do the slow thing")
    kinds = [e.type for e in events]
    assert kinds.index("tool_pending") < kinds.index("tool_result")
    assert any(isinstance(e, ToolPending) and e.name == "slow" for e in events)


async def test_ollama_down_gives_llm_unavailable_fast() -> None:
    s = settings_for(f"http://127.0.0.1:{free_port()}")
    a = Assistant(s, OllamaChat(s.ollama), ListHistory())
    t0 = time.monotonic()
    events = await run_turn(a, "hello")
    err = next(e for e in events if isinstance(e, ErrorEvent))
    assert err.code == "LLM_UNAVAILABLE" and "ollama serve" in err.message and err.recoverable
    assert time.monotonic() - t0 < 10
    ok, _detail, fix = await OllamaChat(s.ollama).status()
    assert not ok and fix == "ollama serve"


async def test_hung_ollama_times_out() -> None:
    with OllamaSim(hang=True) as sim:
        s = settings_for(sim.url, first_token_timeout_s=0.5, connect_timeout_s=0.5)
        a = Assistant(s, OllamaChat(s.ollama), ListHistory())
        events = await asyncio.wait_for(run_turn(a, "hello"), timeout=20)
        ok, detail, _fix = await OllamaChat(s.ollama).status()
    assert next(e for e in events if isinstance(e, ErrorEvent)).code == "LLM_TIMEOUT"
    assert not ok and "in time" in detail


async def test_missing_model_names_the_pull_command() -> None:
    with OllamaSim(models=("llama3:latest",)) as sim:
        s = settings_for(sim.url)
        a = Assistant(s, OllamaChat(s.ollama), ListHistory())
        events = await run_turn(a, "hello")
        ok, _detail, fix = await OllamaChat(s.ollama).status()
    err = next(e for e in events if isinstance(e, ErrorEvent))
    assert err.code == "LLM_MODEL_MISSING" and "ollama pull mistral" in err.message
    assert not ok and fix == "ollama pull mistral"


async def test_cancel_stops_the_stream_at_once() -> None:
    with OllamaSim([Rule("story", [Reply("word " * 400)])], first_token_s=0.0, tokens_per_s=20) as sim:
        s = settings_for(sim.url)
        a = Assistant(s, OllamaChat(s.ollama), ListHistory())
        got: list[str] = []

        async def consume() -> None:
            async for ev in a.reply("s1", "t1", "tell me a story"):
                if isinstance(ev, LlmToken):
                    got.append(ev.text)

        task = asyncio.create_task(consume())
        await wait_for(lambda: len(got) >= 3, 10.0, "three tokens streamed", interval=0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        n = len(got)
        await asyncio.sleep(0.3)
    assert len(got) == n < 20
