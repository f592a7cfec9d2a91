"""The orchestrator: streaming vs classic, barge-in cutting the reply to what was heard, speaker policies.

Real VAD, listener, splitter, Ollama client and fake-but-faithful Ollama server; the voice and the recognizer are
small fakes here because their own tests cover them, and these tests are about timing and cancellation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from faster_whisper import decode_audio

from app.ollama_sim import OllamaSim, Reply, Rule
from base.events import Event, Interrupted, Latency, LlmToken, Sentence
from core.assistant import Assistant
from core.config import load_settings
from core.llm import OllamaChat
from realtime.audio_in import feed
from realtime.audio_out import BufferedOutput
from realtime.engines import Engines
from realtime.paced_output import PacedOutput
from realtime.voice_agent import VoiceAgent
from tests.fakes import FixedSTT, ListHistory, ToneTTS
from tests.waiting import wait_for

THREE = "The sky is blue because of Rayleigh scattering. Sunsets look red for the same reason. Isn't that neat?"
LONG = " ".join(f"This is sentence number {i} of a very long story." for i in range(1, 40))


def make_agent(url: str, output: Any, *, streaming: bool = True, policy: str = "headset",
               listen: bool = True) -> tuple[VoiceAgent, ListHistory, list[Event]]:
    s = load_settings()
    s.streaming = streaming
    s.ollama.host = url
    s.barge_in.policy = policy  # type: ignore[assignment]
    history = ListHistory()
    engines = Engines(s, FixedSTT(), ToneTTS(), Assistant(s, OllamaChat(s.ollama), history), history)  # type: ignore[arg-type]
    agent = VoiceAgent(engines, output, listen=listen)
    events: list[Event] = []
    agent.subscribe(events.append)
    return agent, history, events


def kinds(events: list[Event]) -> list[str]:
    return [e.type for e in events]


async def until_speaking(agent: VoiceAgent) -> None:
    await wait_for(lambda: agent.state == "speaking", 15.0, "the agent started speaking its reply")


@pytest.fixture(scope="module")
def speech_pcm(jfk_path: Path) -> np.ndarray:
    return (decode_audio(str(jfk_path)) * 32767).astype(np.int16)


async def test_streaming_speaks_before_the_reply_is_finished() -> None:
    with OllamaSim([Rule("sky", [Reply(THREE)])], first_token_s=0.05, tokens_per_s=20) as sim:
        agent, history, events = make_agent(sim.url, BufferedOutput(22050), listen=False)
        await agent.submit_text("why is the sky blue?")
        await agent.wait_idle()
    k = kinds(events)
    last_token = max(i for i, e in enumerate(k) if e == "llm_token")
    assert k.index("tts_audio") < last_token  # the first phrase was voiced while the model still streamed
    assert k.count("sentence") >= 3 and k[-2:] == ["turn_done", "state"]
    assert history.rows[-1]["role"] == "assistant" and history.rows[-1]["content"] == THREE


async def test_classic_mode_waits_for_the_whole_reply_then_plays() -> None:
    with OllamaSim([Rule("sky", [Reply(THREE)])], first_token_s=0.05, tokens_per_s=50) as sim:
        agent, _history, events = make_agent(sim.url, BufferedOutput(22050), streaming=False, listen=False)
        await agent.submit_text("why is the sky blue?")
        await agent.wait_idle()
    k = kinds(events)
    last_token = max(i for i, e in enumerate(k) if e == "llm_token")
    last_audio = max(i for i, e in enumerate(k) if e == "tts_audio")
    assert last_token < k.index("sentence")
    assert last_audio < k.index("playback")  # whole audio first, then play
    assert k.count("sentence") >= 3


async def test_barge_in_stops_playback_and_keeps_only_what_was_heard(speech_pcm: np.ndarray) -> None:
    with OllamaSim([Rule("story", [Reply(LONG)])], first_token_s=0.05, tokens_per_s=40) as sim:
        out = PacedOutput(22050)
        agent, history, events = make_agent(sim.url, out)
        await agent.submit_text("tell me a long story")
        await until_speaking(agent)
        played_at_start = out.played_samples()
        await asyncio.sleep(0.8)
        assert out.played_samples() > played_at_start  # control: before the barge-in the reply was playing
        # the user talks over the reply: real speech, pushed in real time through the real listener
        for i in range(0, 16000 * 2, 480):
            agent.push_audio(speech_pcm[i:i + 480])
            await asyncio.sleep(0.03)
            if any(e.type == "interrupted" for e in events):
                break
        assert any(e.type == "interrupted" for e in events)
        # control: the stream still had more to send when it was cut, so "no more tokens" below means stopped
        assert not any(isinstance(e, LlmToken) and e.done for e in events)
        played = out.played_samples()
        tokens_at_interrupt = sum(1 for e in events if e.type == "llm_token")
        n_requests = len(sim.chat_requests())
        await asyncio.sleep(0.5)
        assert out.played_samples() == played  # the speaker went quiet at once
        assert sum(1 for e in events if e.type == "llm_token") == tokens_at_interrupt  # the stream was stopped
        assert len(sim.chat_requests()) == n_requests
        await agent.aclose()
    interrupted = next(e for e in events if isinstance(e, Interrupted))
    row = next(r for r in history.rows if r["role"] == "assistant")
    assert row["interrupted"] is True
    heard = row["heard"].rstrip("…")
    assert heard and LONG.startswith(heard.split("…")[0][:20])
    assert len(heard) < len(row["content"]) and interrupted.heard == row["heard"]


async def talk_over_the_reply(policy: str, speech_pcm: np.ndarray) -> list[Event]:
    """Ask about the sky, then push two seconds of speech while the reply plays; the agent's events."""
    with OllamaSim([Rule("sky", [Reply(THREE)])], first_token_s=0.05, tokens_per_s=40) as sim:
        out = PacedOutput(22050)
        agent, _history, events = make_agent(sim.url, out, policy=policy)
        await agent.submit_text("why is the sky blue?")
        await until_speaking(agent)
        for i in range(0, 16000 * 2, 480):
            agent.push_audio(speech_pcm[i:i + 480])
            await asyncio.sleep(0.01)
        await agent.wait_idle()
        await agent.aclose()
    return events


async def test_speakers_policy_ignores_the_mic_while_speaking(speech_pcm: np.ndarray) -> None:
    events = await talk_over_the_reply("ignore_while_speaking", speech_pcm)
    assert "interrupted" not in kinds(events)
    assert "speech_started" not in kinds(events)
    assert kinds(events).count("turn_done") == 1  # the reply played to its end


async def test_headset_policy_the_same_speech_starts_a_turn_and_interrupts(speech_pcm: np.ndarray) -> None:
    """Control for the test above: the same speech over the same reply is heard and cuts it under `headset`."""
    events = await talk_over_the_reply("headset", speech_pcm)
    k = kinds(events)
    assert "speech_started" in k and "interrupted" in k
    assert k.index("speech_started") < k.index("interrupted")


async def test_a_new_message_supersedes_the_reply_in_progress() -> None:
    with OllamaSim([Rule("story", [Reply(LONG)])], first_token_s=0.05, tokens_per_s=40) as sim:
        out = PacedOutput(22050)
        agent, history, events = make_agent(sim.url, out, listen=False)
        first = await agent.submit_text("tell me a long story")
        await until_speaking(agent)
        second = await agent.submit_text("hello")
        await agent.wait_idle()
        await agent.aclose()
    done = [e for e in events if e.type == "turn_done"]
    assert [d.turn_id for d in done] == [first, second]
    assert done[0].interrupted and not done[1].interrupted  # type: ignore[attr-defined]
    assert [r["role"] for r in history.rows] == ["user", "assistant", "user", "assistant"]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16000 * seconds), dtype=np.int16)


async def test_preemptive_reply_is_prepared_before_the_turn_ends(speech_pcm: np.ndarray) -> None:
    with OllamaSim([Rule("stop", [Reply(THREE)])], first_token_s=0.05, tokens_per_s=50) as sim:
        agent, history, events = make_agent(sim.url, PacedOutput(22050))
        await feed(np.concatenate([speech_pcm[: 16000 * 2], silence(1.2)]), agent.push_audio)
        await agent.wait_idle()
        await agent.aclose()
    k = kinds(events)
    assert k.count("final_transcript") == 1 and k.count("turn_done") == 1
    assert k.index("final_transcript") < k.index("llm_token")  # held back until the turn really ended
    latency = next(e for e in events if isinstance(e, Latency))
    assert latency.marks["llm_first_token"] < latency.marks["final"]  # but the model was asked earlier
    assert [r["role"] for r in history.rows] == ["user", "assistant"]


async def test_preemptive_reply_is_dropped_when_the_user_goes_on(speech_pcm: np.ndarray) -> None:
    with OllamaSim([Rule("stop", [Reply(THREE)])], first_token_s=0.05, tokens_per_s=50) as sim:
        agent, history, events = make_agent(sim.url, PacedOutput(22050))
        # a 450 ms pause: past vad.preemptive_ms (200), short of vad.silence_ms (700)
        await feed(np.concatenate([speech_pcm[: 16000], silence(0.45), speech_pcm[16000: 16000 * 2],
                                   silence(1.2)]), agent.push_audio)
        await agent.wait_idle()
        await agent.aclose()
        requests = len(sim.chat_requests())
    k = kinds(events)
    assert k.count("final_transcript") == 1 and k.count("turn_done") == 1
    assert requests == 2  # one preemptive request thrown away, one for the whole turn
    turn = next(e for e in events if e.type == "final_transcript").turn_id
    assert all(e.turn_id == turn for e in events if e.type in ("llm_token", "sentence", "tts_audio"))
    spoken = " ".join(e.text for e in events if e.type == "sentence")  # type: ignore[attr-defined]
    assert spoken.split() == THREE.split()  # the reply once: nothing of the dropped one reached the user
    assert [r["role"] for r in history.rows] == ["user", "assistant"]
    marks = next(e for e in events if isinstance(e, Latency)).marks  # the kept reply's own stages, not the
    assert marks["turn_start"] - marks["speech_start"] > 2.0  # dropped one's (asked ~1.3 s in)


async def test_the_voice_is_given_spoken_words_while_the_page_shows_the_written_text() -> None:
    reply = "Sure. It costs $4.99 at 5:30 p.m. today. Dr. Smith says 3 * 4 = 12. 🎉"
    with OllamaSim([Rule("price", [Reply(reply)])], first_token_s=0.01, tokens_per_s=200) as sim:
        agent, _history, events = make_agent(sim.url, BufferedOutput(22050), listen=False)
        await agent.submit_text("what is the price?")
        await agent.wait_idle()
    shown = [e.text for e in events if isinstance(e, Sentence)]
    spoken = agent.engines.tts.spoken  # type: ignore[attr-defined]
    assert shown == ["Sure.", "It costs $4.99 at 5:30 p.m. today.", "Dr. Smith says 3 * 4 = 12."]
    assert spoken == ["Sure.", "It costs four dollars and ninety-nine cents at five thirty P M today.",
                      "Doctor Smith says three times four equals twelve."]
