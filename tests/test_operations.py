"""Operations: a slow client's backpressure, JSON logs, the seed's STREAM_* names, REST chat with a tool call
through the real MCP server, and a graceful shutdown of the real app on SIGTERM."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.logs import JsonFormatter
from app.ollama_sim import OllamaSim, Reply, Rule
from app.session_log import SessionObserver
from base.events import ErrorCode, ErrorEvent, Latency, LlmToken, PartialTranscript, PlaybackProgress, TtsChunk
from core.config import load_settings
from gui.api import create_api
from gui.transport import SocketSender
from tests.netutil import free_port
from tests.seed_kit import listening_engines, seed_settings, sim

ROOT = Path(__file__).resolve().parent.parent


async def test_slow_client_gets_backpressure_info_keeps_audio_and_stays_bounded() -> None:
    written: list[str] = []

    async def slow_write(text: str) -> None:  # a client on a bad link: 5 ms per frame
        await asyncio.sleep(0.005)
        written.append(text)

    async def no_bytes(data: bytes) -> None:
        raise AssertionError("the seed's audio travels as JSON")

    sender = SocketSender(slow_write, no_bytes, threshold=50, hard_max=2000)
    audio = "A" * 4000
    for i in range(1000):  # a long utterance: partials every step, a reply's audio and tokens in between
        sender.send_event(PartialTranscript(turn_id="u", text=f"words {i}"))
        sender.send_event(PlaybackProgress(turn_id="u", seq=i, played_s=i / 10))
        if i % 10 == 0:
            sender.send_event(TtsChunk(turn_id="u", seq=i // 10 + 1, audio_b64=audio))
            sender.send_event(LlmToken(turn_id="u", text=f"t{i}"))
        if i % 100 == 0:
            await asyncio.sleep(0)
    sender.send_event(ErrorEvent(turn_id="u", code=ErrorCode.TTS_FAIL, message="one voice failed"))
    await sender.drained()
    await sender.aclose()
    msgs = [json.loads(t) for t in written]
    infos = [m["message"] for m in msgs if m["type"] == "info"]
    assert len(infos) == 2 and infos[0].startswith("backpressure:") and infos[1].startswith("backpressure cleared")
    chunks = [m for m in msgs if m["type"] == "tts_chunk"]
    assert [c["seq"] for c in chunks] == list(range(1, 101)) and all(c["audio_b64"] == audio for c in chunks)
    assert [m["text"] for m in msgs if m["type"] == "llm_token"] == [f"t{i}" for i in range(0, 1000, 10)]
    assert msgs[-1]["type"] == "error" or msgs[-2]["type"] == "error"
    partials = [m["text"] for m in msgs if m["type"] == "partial_transcript"]
    assert partials[-1] == "words 999" and len(partials) < 200  # the newest kept, most skipped
    assert sender.skipped > 1500
    # memory: never more than the threshold plus what may not be dropped (200 audio/token frames) plus one partial
    print(f"backpressure: max queue {sender.max_depth} frames, {sender.skipped} skipped")
    assert sender.max_depth <= 50 + 200 + 2, sender.max_depth


async def test_a_client_that_stops_reading_is_cut_off() -> None:
    async def stuck(text: str) -> None:
        await asyncio.Event().wait()

    closed: list[bool] = []
    sender = SocketSender(stuck, stuck, threshold=10, hard_max=100, on_overflow=lambda: closed.append(True))  # type: ignore[arg-type]
    for i in range(150):
        sender.send_event(LlmToken(turn_id="u", text=str(i)))
    await asyncio.sleep(0)
    assert closed == [True] and sender.closed and len(sender) == 0 and sender.max_depth <= 101


def test_json_log_lines_carry_session_turn_event() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("assistant.session")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        obs = SessionObserver("seed")
        obs.session_id = "s1"
        obs.on_event(Latency(turn_id="t1", marks={"speech_start": 10.0, "first_partial": 10.4, "final": 11.0,
                                                  "llm_first_token": 11.3, "first_audio": 11.5}, intervals={}))
        obs.on_event(ErrorEvent(turn_id="t1", code=ErrorCode.LLM_TIMEOUT, message="slow"))
    finally:
        logger.removeHandler(handler)
    lat, err = (json.loads(line) for line in stream.getvalue().splitlines())
    assert lat["event"] == "latency" and lat["session"] == "s1" and lat["turn"] == "t1" and lat["level"] == "INFO"
    assert lat["deltas_ms"] == {"t1": 400, "t2": 1000, "t3": 1300, "t4": 1500} and lat["t0"] == 10.0 and lat["ts"]
    assert err["event"] == "error" and err["code"] == "LLM_TIMEOUT" and err["level"] == "WARNING"


def test_stream_env_names_are_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_TTS_MAX_PHRASE_LENGTH", "60")
    monkeypatch.setenv("STREAM_MAX_PENDING_PHRASES", "5")
    monkeypatch.setenv("STREAM_BACKPRESSURE_THRESHOLD", "80")
    monkeypatch.setenv("STREAM_MAX_UTTERANCE_MS", "20000")
    monkeypatch.setenv("STREAM_VAD_SILENCE_MS", "900")
    monkeypatch.setenv("ASSISTANT_VAD__SILENCE_MS", "800")  # the project's own name wins
    s = load_settings()
    assert (s.tts.max_phrase_chars, s.tts.max_pending_phrases, s.gui.backpressure_frames) == (60, 5, 80)
    assert s.vad.max_utterance_s == 20.0 and s.vad.silence_ms == 800
    monkeypatch.setenv("STREAM_TTS_THREAD_WORKERS", "99")
    with pytest.raises(Exception, match=r"tts\.workers = 99"):
        load_settings()


def test_rest_chat_uses_tools_and_memory(tmp_path: Path) -> None:
    rules = [Rule("rate inception", [Reply("", [{"name": "rate_movie", "arguments": {"title": "Inception",
                                                                                   "rating": 9}}]),
                                     Reply("Inception now has a nine.")])]
    from core.mcp_client.toolbox import McpToolBox

    async def with_tools() -> None:
        with OllamaSim(rules, first_token_s=0.0, tokens_per_s=500) as s:
            settings = seed_settings(s.url, tmp_path, mcp={"enabled": True},
                                     memory={"chroma_path": str(tmp_path / "chroma")})
            tools = McpToolBox(settings)
            await tools.start()
            try:
                engines = listening_engines(settings, None, tools=tools)
                transport = httpx.ASGITransport(app=create_api(engines))  # the tools live on this loop
                async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
                    r = await client.post("/v1/chat", json={"text": "Please rate inception a nine"})
                    body = r.json()
                    again = await client.post("/v1/chat", json={"text": "hello", "session_id": body["session_id"]})
                    listed = (await client.get("/v1/sessions")).json()
                    one = (await client.get(f"/v1/sessions/{body['session_id']}")).json()
                    missing = await client.post("/v1/chat", json={"text": "hi", "session_id": "nope"})
                    blank = await client.post("/v1/chat", json={"text": ""})
                    docs = (await client.get("/openapi.json")).json()
                    page = await client.get("/docs")
            finally:
                await tools.aclose()
        assert r.status_code == 200 and body["text"] == "Inception now has a nine." and "error" in body
        assert body["tool_calls"] == [{"name": "rate_movie", "arguments": {"title": "Inception", "rating": 9},
                                       "ok": True, "content": body["tool_calls"][0]["content"]}]
        assert again.status_code == 200 and again.json()["session_id"] == body["session_id"]
        assert listed[0]["id"] == body["session_id"] and listed[0]["messages"] == 4
        assert [m["role"] for m in one["history"]] == ["user", "assistant", "user", "assistant"]
        assert missing.status_code == 404 and "GET /v1/sessions" in missing.json()["detail"]
        assert blank.status_code == 422
        assert {"/v1/chat", "/v1/sessions", "/v1/sessions/{session_id}"} <= set(docs["paths"])
        assert page.status_code == 200 and "swagger" in page.text.lower()

    asyncio.run(with_tools())


@pytest.mark.slow
def test_sigterm_closes_sessions_gracefully(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    port = free_port()
    with sim(tokens_per_s=5) as s:  # a reply that streams for seconds: it is cut by the shutdown
        env = {**os.environ, "ASSISTANT_OLLAMA__HOST": s.url, "ASSISTANT_GUI__PORT": str(port),
               "ASSISTANT_MCP__ENABLED": "false", "ASSISTANT_MEMORY__DB_PATH": str(tmp_path / "a.db"),
               "ASSISTANT_MEMORY__EMBEDDER": "none", "ASSISTANT_TTS__CHAIN": '["pyttsx3"]',
               "ASSISTANT_LOG_FORMAT": "json"}
        proc = subprocess.Popen([sys.executable, "launch.py", "app"], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if "ready" in line:
                    break
            url = f"ws://127.0.0.1:{port}/ws"
            with connect(url) as native, connect(url) as seed:
                native.send(json.dumps({"type": "hello", "listen": False}))
                seed.send(json.dumps({"type": "start", "sample_rate": 16000}))
                native.send(json.dumps({"type": "text", "text": "a long answer please"}))
                while json.loads(native.recv(timeout=30)).get("type") != "llm_token":
                    pass
                sid = next(json.loads(m) for m in iter(lambda: native.recv(timeout=5), None)
                           if isinstance(m, str) and '"turn_id"' in m)["turn_id"]
                t0 = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                got: dict[str, list[Any]] = {"native": [], "seed": []}
                for name, ws in (("native", native), ("seed", seed)):
                    try:
                        while True:
                            m = ws.recv(timeout=5)
                            if isinstance(m, str):
                                got[name].append(json.loads(m))
                    except Exception as exc:
                        got[name].append(getattr(getattr(exc, "rcvd", None), "code", repr(exc)))
                took = time.monotonic() - t0
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
    for name in ("native", "seed"):
        assert got[name][-1] == 1001, got[name][-3:]
        assert {"type": "info", "message": "server shutting down"}.items() <= next(
            m for m in got[name] if isinstance(m, dict) and m["type"] == "info" and "shutting" in m["message"]).items()
    print(f"shutdown: info and close 1001 on both sockets within {took:.3f} s")
    assert took < 2.0, took
    import sqlite3

    rows = sqlite3.connect(tmp_path / "a.db").execute(
        "SELECT role, interrupted FROM messages WHERE turn_id = ?", (sid,)).fetchall()
    assert ("assistant", 1) in rows  # the cut reply was stored as far as it was heard
