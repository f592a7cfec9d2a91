"""Shared pieces of the seed-protocol tests: an outside client's view of `/ws`, fakes that speak the real
interfaces (a recognizer that hears fixed words or crashes, voices that fail), and engines that listen."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from starlette.testclient import WebSocketTestSession

from app.ollama_sim import OllamaSim, Reply, Rule
from base.status import ComponentStatus
from core.assistant import Assistant, ToolRunner
from core.config import Settings, load_settings
from core.llm import OllamaChat
from core.memory import History
from realtime.engines import Engines
from realtime.stt import SpeechToText
from realtime.tts.base import Speech, TextToSpeech
from realtime.tts.fallback import FallbackTTS
from tests.wsclient import LONG, RATE, ToneVoice

RULES = [Rule("long", [Reply(LONG)]), Rule("hello", [Reply("Hello there. Nice to meet you.")]),
         Rule("tool", [Reply("", [{"name": "lookup", "arguments": {"q": "x"}}]), Reply("Done.")])]
SEED_TYPES = {"partial_transcript", "final_transcript", "llm_token", "tts_chunk", "tts_phrase_done",
              "tts_complete", "error", "info", "latency", "phase"}


class WordsStt:
    """A recognizer that hears `text` in any audio (the listener, VAD and endpointing stay real)."""

    def __init__(self, text: str = "hello there") -> None:
        self.text = text

    def transcribe(self, audio: np.ndarray, *, final: bool = False) -> str:
        return self.text


class CrashingStt:
    """A decoder that raises, as a corrupt model or an out-of-memory would."""

    def transcribe(self, audio: np.ndarray, *, final: bool = False) -> str:
        raise RuntimeError("decoder crashed")


class BrokenVoice(ToneVoice):
    """A voice whose synthesis fails every phrase."""

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Speech:
        raise OSError("voice service unreachable")

    async def probe(self) -> ComponentStatus:
        return ComponentStatus(self.name, True, "fake")


class BuggyTools:
    """A tool box whose tool has a bug: the exception escapes into the turn task."""

    def ollama_tools(self) -> list[dict[str, Any]]:
        return [{"type": "function", "function": {"name": "lookup", "description": "look up",
                                                  "parameters": {"type": "object", "properties": {}}}}]

    async def ready_tools(self, wait_s: float) -> tuple[list[dict[str, Any]], list[str]]:
        return self.ollama_tools(), []

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        raise KeyError("bug in the tool box")

    async def recall(self, query: str, k: int, budget_s: float) -> list[str]:
        return []


def seed_settings(url: str, tmp: Path, **sections: dict[str, Any]) -> Settings:
    base: dict[str, dict[str, Any]] = {
        "ollama": {"host": url}, "tts": {"chain": ["piper"], "sample_rate": RATE}, "mcp": {"enabled": False},
        "memory": {"db_path": str(tmp / "a.db"), "embedder": "none"},
        "gui": {"allowed_hosts": ["testserver"]}}  # the Host name TestClient sends
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return load_settings(None, **base)


def listening_engines(settings: Settings, stt: SpeechToText | None, voices: list[TextToSpeech] | None = None,
                      tools: ToolRunner | None = None) -> Engines:
    history = History(settings.path(settings.memory.db_path))
    tts = FallbackTTS(voices or [ToneVoice()], sample_rate=RATE)
    assistant = Assistant(settings, OllamaChat(settings.ollama), history, tools)
    return Engines(settings, stt, tts, assistant, history, None)


def sim(first_token_s: float = 0.05, tokens_per_s: float = 200) -> OllamaSim:
    return OllamaSim(RULES, first_token_s=first_token_s, tokens_per_s=tokens_per_s)


def speech(path: Path, seconds: float | None = None) -> tuple[np.ndarray, int]:
    """A real recording as a seed client would send it: PCM16 mono at the file's own rate (44.1 kHz)."""
    audio, rate = sf.read(path, dtype="int16", always_2d=True)
    mono = audio.mean(axis=1).astype(np.int16)
    return (mono[: int(seconds * rate)] if seconds else mono), int(rate)


def frames(pcm: np.ndarray, rate: int, ms: int = 40) -> Iterator[bytes]:
    step = rate * ms // 1000
    for i in range(0, len(pcm), step):
        yield pcm[i:i + step].astype("<i2").tobytes()


def receive(ws: WebSocketTestSession) -> dict[str, Any]:
    msg = ws.receive()
    if msg["type"] == "websocket.close":
        return {"type": "_closed", "code": msg.get("code")}
    assert msg.get("text") is not None, f"the seed dialect sends text frames only, got {msg}"
    return dict(json.loads(msg["text"]))


def read_until(ws: WebSocketTestSession, pred: Any, log: list[dict[str, Any]], limit: int = 3000) -> dict[str, Any]:
    for _ in range(limit):
        m = receive(ws)
        log.append(m)
        if pred(m):
            return m
        if m["type"] == "_closed":
            raise AssertionError(f"socket closed before the awaited message: {log[-5:]}")
    raise AssertionError("the awaited message never came")


def start_and_speak(ws: WebSocketTestSession, pcm: np.ndarray, rate: int) -> None:
    ws.send_text(json.dumps({"type": "start", "sample_rate": rate}))
    for frame in frames(pcm, rate):
        ws.send_bytes(frame)


def wav_of(chunk: dict[str, Any]) -> tuple[np.ndarray, int]:
    assert chunk["mime"] == "audio/wav"
    data, rate = sf.read(io.BytesIO(base64.b64decode(chunk["audio_b64"])), dtype="int16")
    return data, int(rate)
