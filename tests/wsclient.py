"""A `/ws` test client over FastAPI's TestClient: a tone voice, a scripted Ollama, bounded frame readers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from starlette.testclient import WebSocketTestSession

from app.ollama_sim import OllamaSim, Reply, Rule
from base.status import ComponentStatus
from core.assistant import Assistant
from core.config import Settings, load_settings
from core.llm import OllamaChat
from core.memory import History
from realtime.engines import Engines
from realtime.tts.base import Speech
from realtime.tts.fallback import FallbackTTS

RATE = 22050
LONG = ("First sentence of a long answer. Second sentence follows it here. Third sentence is also spoken. "
        "Fourth sentence ends the answer.")
FRAME_TIMEOUT_S = 30.0


class ToneVoice:
    """A fake voice: 40 ms of tone per character, so longer phrases take longer to play."""

    def __init__(self, name: str = "tone") -> None:
        self.name = name
        self.spoken: list[str] = []

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Speech:
        self.spoken.append(text)
        n = int(RATE * 0.04) * max(1, len(text))
        audio = (np.sin(np.arange(n) * 0.05) * 8000).astype(np.int16)
        return Speech(audio, RATE, self.name)

    async def probe(self) -> ComponentStatus:
        return ComponentStatus(self.name, True, "fake")

    async def aclose(self) -> None:
        return None


def make_engines(settings: Settings, voices: list[ToneVoice] | None = None) -> Engines:
    history = History(settings.path(settings.memory.db_path))
    tts = FallbackTTS(voices or [ToneVoice()], sample_rate=RATE)
    assistant = Assistant(settings, OllamaChat(settings.ollama), history, None)
    return Engines(settings, None, tts, assistant, history, None)


def saved_rows(history: History, session_id: str, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The session's rows once at least `n` are saved (history is written off the event loop)."""
    deadline = time.monotonic() + timeout
    while len(rows := history.recent(session_id, 100)) < n:
        assert time.monotonic() < deadline, f"only {len(rows)} of {n} history rows were saved"
        time.sleep(0.02)
    return rows


def scripted_sim() -> OllamaSim:
    rules = [Rule("long", [Reply(LONG)]), Rule("hello", [Reply("Hello there. Nice to meet you.")])]
    return OllamaSim(rules, first_token_s=0.05, tokens_per_s=200)


def fast_settings(ollama_url: str, tmp_path: Path) -> Settings:
    memory = {"db_path": str(tmp_path / "a.db"), "embedder": "none"}
    return load_settings(ollama={"host": ollama_url}, tts={"chain": ["piper"], "sample_rate": RATE},
                         mcp={"enabled": False}, memory=memory,
                         gui={"allowed_hosts": ["testserver"]})  # the Host name TestClient sends


def receive(ws: WebSocketTestSession, timeout: float = FRAME_TIMEOUT_S) -> dict[str, Any] | bytes:
    """The next frame: an event dict or audio bytes; fails if the server sends nothing for `timeout` seconds."""

    async def bounded() -> Any:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()  # what ws.receive() awaits, with a deadline

    try:
        msg = ws.portal.call(bounded)
    except TimeoutError:
        raise AssertionError(f"no frame from /ws within {timeout:g} s") from None
    if msg.get("bytes") is not None:
        return bytes(msg["bytes"])
    if msg["type"] == "websocket.close":
        raise AssertionError(f"socket closed: {msg}")
    return dict(json.loads(msg["text"]))


def until(ws: WebSocketTestSession, kind: str, log: list[Any] | None = None,
          limit: int = 2000) -> dict[str, Any]:
    """Read frames until an event of `kind`; everything read is appended to `log`."""
    for _ in range(limit):
        m = receive(ws)
        if log is not None:
            log.append(m)
        if isinstance(m, dict) and m["type"] == kind:
            return m
    raise AssertionError(f"no {kind} event within {limit} frames")


def next_audio(ws: WebSocketTestSession, limit: int = 2000) -> bytes:
    """Read frames until the first binary (audio) frame."""
    for _ in range(limit):
        m = receive(ws)
        if isinstance(m, bytes):
            return m
    raise AssertionError(f"no audio frame within {limit} frames")


def hello(ws: WebSocketTestSession, **fields: Any) -> dict[str, Any]:
    ws.send_text(json.dumps({"type": "hello", "listen": False, **fields}))
    return until(ws, "ready")
