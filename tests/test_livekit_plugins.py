"""The three livekit-agents plugins through livekit's own interfaces, with the real models and protocols.

STT: the shipped Whisper tiny.en on jfk.flac, batch (`recognize`) and streaming (our Listener behind
`RecognizeStream`, fed 48 kHz frames that livekit resamples). TTS: the shipped Piper voice, checked by ear with
Whisper. LLM: our assistant against the scripted Ollama server, with a real MCP tool call.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from livekit import rtc
from livekit.agents import ChatContext, stt, tts

from app.ollama_sim import OllamaSim, Reply, Rule
from base.audio import LISTEN_RATE, to_float32, to_pcm16
from base.events import Event, ToolCall, ToolResult
from core.assistant import Assistant
from core.config import Settings, TurnConfig, load_settings
from core.llm import OllamaChat
from core.mcp_client.toolbox import McpToolBox
from core.memory import History
from realtime.decoding import DecodeScheduler
from realtime.end_of_turn import build_end_of_turn, model_path
from realtime.livekit.llm import AssistantLLM
from realtime.livekit.stt import WhisperSTT
from realtime.livekit.tts import FallbackVoiceTTS
from realtime.sentences import SentenceSplitter
from realtime.stt import SpeechToText, build_stt
from realtime.tts import build_tts
from realtime.tts.fallback import FallbackTTS
from realtime.vad import build_vad
from tests.mcp_helpers import SAMPLE_SERVER
from tests.transcripts import JFK_TEXT

pytestmark = pytest.mark.slow


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def overlap(heard: str, said: str) -> float:
    """Share of the said words that were heard (order-free: a robust check for a tiny model)."""
    h, s = set(words(heard)), words(said)
    return sum(w in h for w in s) / len(s)


def frames_of(pcm: np.ndarray, rate: int, ms: int = 20) -> list[rtc.AudioFrame]:
    n = rate * ms // 1000
    return [rtc.AudioFrame(pcm[i:i + n].tobytes(), rate, 1, len(pcm[i:i + n])) for i in range(0, len(pcm), n)]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(memory={"embedder": "none"}, mcp={"enabled": False}, tts={"chain": ["piper"]})


@pytest.fixture(scope="module")
def recognizer(settings: Settings) -> SpeechToText:
    return build_stt(settings.stt)


def whisper_plugin(settings: Settings, recognizer: SpeechToText) -> WhisperSTT:
    return WhisperSTT(recognizer, vad_cfg=settings.vad, stt_cfg=settings.stt,
                      new_vad=lambda: build_vad(settings.vad))


async def stream_at_a_rooms_pace(plugin: WhisperSTT, pcm: np.ndarray, rate: int) -> list[stt.SpeechEvent]:
    """Every event of one stream fed `pcm` in 20 ms frames in real time, as from a room (partials need the
    decoder free now and then, and the end of turn is judged by the clock)."""
    stream = plugin.stream()
    events: list[stt.SpeechEvent] = []

    async def collect() -> None:
        async for ev in stream:
            events.append(ev)

    reader = asyncio.create_task(collect())
    clock = asyncio.get_running_loop().time
    start = clock()
    for i, frame in enumerate(frames_of(pcm, rate)):
        await asyncio.sleep(max(0.0, start + i * 0.02 - clock()))
        stream.push_frame(frame)
    stream.end_input()
    await asyncio.wait_for(reader, 60)
    await stream.aclose()
    return events


def jfk_pcm(path: Path) -> np.ndarray:
    audio, rate = sf.read(str(path), dtype="float32")  # float: to_pcm16 averages int16 channels wrongly
    return to_pcm16(audio, rate, LISTEN_RATE)


async def test_stt_recognize_a_buffer(settings: Settings, recognizer: SpeechToText, jfk_path: Path) -> None:
    plugin = whisper_plugin(settings, recognizer)
    assert plugin.capabilities.streaming and plugin.capabilities.interim_results
    ev = await plugin.recognize(frames_of(jfk_pcm(jfk_path), LISTEN_RATE))
    assert ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    assert overlap(ev.alternatives[0].text, JFK_TEXT) > 0.8, ev.alternatives[0].text


async def test_stt_streams_partials_finals_and_turn_ends(settings: Settings, recognizer: SpeechToText,
                                                         jfk_path: Path) -> None:
    plugin = whisper_plugin(settings, recognizer)
    pcm48 = to_pcm16(jfk_pcm(jfk_path), LISTEN_RATE, 48000)
    silence = np.zeros(48000, dtype=np.int16)  # a second of silence ends the last turn
    events = await stream_at_a_rooms_pace(plugin, np.concatenate([pcm48, silence]), 48000)
    kinds = [e.type for e in events]
    T = stt.SpeechEventType
    assert kinds[0] == T.START_OF_SPEECH and kinds[-1] == T.END_OF_SPEECH
    assert T.INTERIM_TRANSCRIPT in kinds
    finals = [e.alternatives[0].text for e in events if e.type == T.FINAL_TRANSCRIPT]
    assert overlap(" ".join(finals), JFK_TEXT) > 0.8, finals
    # each turn: start ... final, then its end (livekit closes a turn with the finals it has at END_OF_SPEECH)
    for i, kind in enumerate(kinds):
        if kind == T.END_OF_SPEECH:
            assert T.FINAL_TRANSCRIPT in kinds[:i]
    assert kinds.count(T.START_OF_SPEECH) == kinds.count(T.END_OF_SPEECH)


@pytest.mark.skipif(not model_path(TurnConfig()).exists(), reason="no Smart Turn model: make turn-model")
async def test_stt_waits_out_a_pause_mid_thought_like_the_app(settings: Settings, recognizer: SpeechToText,
                                                              jfk_path: Path) -> None:
    """With the end-of-turn judge, Kennedy's pause after "my fellow Americans" does not end the room's turn
    (with the fixed 700 ms endpoint alone the plugin made two or three turns of it)."""
    plugin = WhisperSTT(recognizer, vad_cfg=settings.vad, stt_cfg=settings.stt,
                        new_vad=lambda: build_vad(settings.vad), judge=build_end_of_turn(settings.turn),
                        turn_cfg=settings.turn, decoder=DecodeScheduler(recognizer))
    events = await stream_at_a_rooms_pace(plugin, np.concatenate([jfk_pcm(jfk_path), np.zeros(40000, np.int16)]),
                                          LISTEN_RATE)
    assert plugin.decoder is not None
    plugin.decoder.close()
    finals = [e.alternatives[0].text for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT]
    assert len(finals) == 1 and overlap(finals[0], JFK_TEXT) > 0.9, finals


@pytest.fixture
async def voices(settings: Settings) -> AsyncIterator[FallbackTTS]:
    chain = build_tts(settings.tts)
    await chain.start()
    yield chain
    await chain.aclose()


TWO_SENTENCES = "The kettle is on and the tea will be ready soon. Would you like milk with it?"


def duration_fits(seconds: float, text: str) -> bool:
    """Speech runs at about 2-5 words a second."""
    n = len(text.split())
    return n / 6 < seconds < n / 1.5


async def test_tts_synthesize_speaks_the_text(voices: FallbackTTS, recognizer: SpeechToText) -> None:
    plugin = FallbackVoiceTTS(voices)
    assert plugin.sample_rate == voices.sample_rate and plugin.capabilities.streaming
    frames = [ev.frame async for ev in plugin.synthesize(TWO_SENTENCES)]
    assert all(f.sample_rate == plugin.sample_rate and f.num_channels == 1 for f in frames)
    seconds = sum(f.duration for f in frames)
    assert duration_fits(seconds, TWO_SENTENCES), seconds
    splitter = SentenceSplitter()
    direct = [await voices.synthesize(p) for p in splitter.push(TWO_SENTENCES) + splitter.flush()]
    assert abs(seconds - sum(sp.duration_s for sp in direct)) < 0.25 * seconds  # the chain's own audio
    pcm = np.concatenate([np.frombuffer(bytes(f.data), dtype=np.int16) for f in frames])
    heard = recognizer.transcribe(to_float32(to_pcm16(pcm, plugin.sample_rate, LISTEN_RATE)), final=True)
    assert overlap(heard, TWO_SENTENCES) > 0.7, heard


async def test_tts_stream_speaks_phrase_by_phrase(voices: FallbackTTS) -> None:
    plugin = FallbackVoiceTTS(voices)
    stream = plugin.stream()
    first, rest = TWO_SENTENCES.split(". ", 1)
    for piece in re.findall(r"\S+\s*", first + ". "):
        stream.push_text(piece)
    # the first sentence is spoken before the rest of the text exists
    head: tts.SynthesizedAudio = await asyncio.wait_for(stream.__anext__(), 30)
    assert head.frame.sample_rate == plugin.sample_rate
    stream.push_text(rest)
    stream.end_input()
    frames = [head.frame] + [ev.frame async for ev in stream]
    await stream.aclose()
    assert duration_fits(sum(f.duration for f in frames), TWO_SENTENCES)


RULES = [Rule("echo", [Reply("", [{"name": "sample__echo", "arguments": {"text": "pineapple"}}]),
                       Reply("The echo tool said pineapple, as you asked.")])]


async def test_llm_streams_and_runs_an_mcp_tool(tmp_path: Path) -> None:
    settings = load_settings(
        memory={"db_path": str(tmp_path / "a.db"), "chroma_path": str(tmp_path / "chroma"), "embedder": "none"},
        mcp={"enabled": True, "extra_servers": [{"name": "sample", "command": sys.executable,
                                                 "args": [str(SAMPLE_SERVER)]}]})
    with OllamaSim(RULES, first_token_s=0.05, tokens_per_s=100) as sim:
        settings.ollama.host = sim.url
        history = History(settings.path(settings.memory.db_path))
        toolbox = McpToolBox(settings)
        await toolbox.start()
        try:
            seen: list[Event] = []
            session_id = history.new_session("LiveKit room test, alice")
            plugin = AssistantLLM(Assistant(settings, OllamaChat(settings.ollama), history, toolbox),
                                  session_id=session_id, on_event=seen.append)
            ctx = ChatContext.empty()
            ctx.add_message(role="system", content="livekit's instructions (ours come from the config)")
            ctx.add_message(role="user", content="Please echo pineapple")
            chunks = [c async for c in plugin.chat(chat_ctx=ctx)]
        finally:
            await toolbox.aclose()
        assert len(chunks) > 3 and all(c.delta is not None and not c.delta.tool_calls for c in chunks)
        text = "".join(c.delta.content or "" for c in chunks if c.delta)
        assert text == "The echo tool said pineapple, as you asked."
        calls = [e for e in seen if isinstance(e, ToolCall)]
        results = [e for e in seen if isinstance(e, ToolResult)]
        assert [c.name for c in calls] == ["sample__echo"] and results[0].ok and "pineapple" in results[0].content
        tool_msgs = [m for m in sim.chat_requests()[-1]["messages"] if m["role"] == "tool"]
        assert tool_msgs and "pineapple" in tool_msgs[0]["content"]
        plugin.record_heard("The echo tool said", interrupted=True)
        assert await plugin.assistant.writer.flush()  # history is written off the event loop
        rows = history.recent(session_id, 10)
        assert [r["role"] for r in rows] == ["user", "assistant"]
        assert rows[1]["interrupted"] and rows[1]["heard"] == "The echo tool said"
