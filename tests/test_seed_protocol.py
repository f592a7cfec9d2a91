"""Seed 001's streaming API, replayed by an outside client exactly as written: start, PCM, stop; start, PCM,
cancel; binary before start. Real VAD, endpointing, resampling, scripted Ollama over HTTP, WAV phrases."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from app.ollama_sim import OllamaSim
from gui.api import create_api
from tests.netutil import free_port
from tests.seed_kit import (
    SEED_TYPES,
    WordsStt,
    frames,
    listening_engines,
    read_until,
    receive,
    seed_settings,
    sim,
    speech,
    start_and_speak,
    wav_of,
)
from tests.wsclient import RATE


@pytest.fixture
def slow_sim() -> Iterator[OllamaSim]:
    with sim(tokens_per_s=25) as s:  # a multi-phrase reply streams for about a second
        yield s


def check_reply(log: list[dict[str, Any]]) -> None:
    """The seed's promises about one answered utterance."""
    assert {m["type"] for m in log} <= SEED_TYPES, {m["type"] for m in log} - SEED_TYPES
    kinds = [m["type"] for m in log]
    finals = [m for m in log if m["type"] == "final_transcript"]
    assert len(finals) == 1 and finals[0]["text"] and len(finals[0]["id"]) == 36
    tokens = [m for m in log if m["type"] == "llm_token"]
    assert [t["done"] for t in tokens].count(True) == 1 and tokens[-1]["done"]
    chunks = [m for m in log if m["type"] == "tts_chunk"]
    done_seqs = [m["seq"] for m in log if m["type"] == "tts_phrase_done"]
    assert [c["seq"] for c in chunks] == done_seqs == list(range(1, len(chunks) + 1))
    for c in chunks:
        pcm, rate = wav_of(c)
        assert rate == RATE and len(pcm) > 1000 and abs(pcm).max() > 1000
    assert kinds.index("tts_complete") > kinds.index("llm_token") + len(tokens) - 1
    latency = next(m for m in log if m["type"] == "latency")
    assert all(latency[k] is not None for k in ("t0", "t2", "t3", "t4"))
    assert latency["t0"] <= latency["t2"] <= latency["t3"] <= latency["t4"]
    for m in log:
        if m["type"] == "error":
            assert set(m) >= {"type", "error", "code", "message", "recoverable"}


def test_start_pcm_stop_answers_with_wav_phrases(slow_sim: OllamaSim, tmp_path: Path, jfk_path: Path) -> None:
    settings = seed_settings(slow_sim.url, tmp_path)
    engines = listening_engines(settings, WordsStt("a long answer please"))
    pcm, rate = speech(jfk_path, 2.0)  # "And so my fellow", 44.1 kHz: resampled by the server
    with TestClient(create_api(engines)) as client, client.websocket_connect("/ws") as ws:
        start_and_speak(ws, pcm, rate)
        ws.send_text(json.dumps({"type": "stop"}))
        log: list[dict[str, Any]] = []
        read_until(ws, lambda m: m["type"] == "tts_complete", log)
        read_until(ws, lambda m: m["type"] == "phase" and m["phase"] == "COMPLETE", log)
    check_reply(log)
    kinds = [m["type"] for m in log]
    assert "partial_transcript" in kinds and kinds.index("partial_transcript") < kinds.index("final_transcript")
    # streaming: the first phrase's audio is out before the reply has finished streaming
    first_chunk = kinds.index("tts_chunk")
    done_at = next(i for i, m in enumerate(log) if m["type"] == "llm_token" and m["done"])
    assert first_chunk < done_at and len([k for k in kinds if k == "tts_chunk"]) >= 3
    phases = [m["phase"] for m in log if m["type"] == "phase"]
    assert phases[:4] == ["CAPTURING", "THINKING", "RESPONDING", "COMPLETE"], phases
    rows = engines.history.recent(engines.history.sessions()[0]["id"], 10)
    assert [r["role"] for r in rows] == ["user", "assistant"] and rows[1]["content"].startswith("First sentence")


def test_start_pcm_cancel_stops_and_stores_nothing(slow_sim: OllamaSim, tmp_path: Path, jfk_path: Path) -> None:
    settings = seed_settings(slow_sim.url, tmp_path)
    engines = listening_engines(settings, WordsStt("a long answer please"))
    pcm, rate = speech(jfk_path, 2.0)
    with TestClient(create_api(engines)) as client, client.websocket_connect("/ws") as ws:
        start_and_speak(ws, pcm, rate)
        ws.send_text(json.dumps({"type": "stop"}))
        log: list[dict[str, Any]] = []
        read_until(ws, lambda m: m["type"] == "llm_token", log)  # the reply is streaming
        ws.send_text(json.dumps({"type": "cancel"}))
        err = read_until(ws, lambda m: m["type"] == "error", log)
        ws.send_text(json.dumps({"type": "start", "sample_rate": 16000}))  # the session goes on
        after: list[dict[str, Any]] = []
        read_until(ws, lambda m: m["type"] == "info" and "capturing" in m["message"], after)
    assert err["code"] == "CANCELLED" and err["recoverable"] is True
    assert not [m for m in log + after if m["type"] == "llm_token" and m["done"]]
    assert not [m for m in after if m["type"] in ("llm_token", "tts_chunk", "tts_complete")]
    sid = engines.history.sessions()[0]["id"]
    time.sleep(0.2)
    assert [r["role"] for r in engines.history.recent(sid, 10)] == ["user"]  # the reply never reached memory


@pytest.mark.parametrize("first", [b"\x00\x01" * 320, '{"type": "text", "text": "hi"}', "not json", '{"type": 5}'])
def test_anything_but_hello_or_start_first_is_a_protocol_violation(tmp_path: Path, first: str | bytes) -> None:
    with sim() as s:
        engines = listening_engines(seed_settings(s.url, tmp_path), WordsStt())
        with TestClient(create_api(engines)) as client, client.websocket_connect("/ws") as ws:
            if isinstance(first, bytes):
                ws.send_bytes(first)
            else:
                ws.send_text(first)
            err = receive(ws)
            closed = receive(ws)
    assert err["type"] == "error" and err["code"] == "PROTOCOL_VIOLATION" and err["recoverable"] is False
    assert '"start"' in err["message"] and '"hello"' in err["message"]
    assert closed == {"type": "_closed", "code": 1008}


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_every_common_rate_is_heard(tmp_path: Path, jfk_path: Path, rate: int) -> None:
    import soxr

    pcm, src = speech(jfk_path, 2.0)
    pcm = soxr.resample(pcm, src, rate).astype("int16")
    with sim() as s:
        engines = listening_engines(seed_settings(s.url, tmp_path), WordsStt())
        with TestClient(create_api(engines)) as client, client.websocket_connect("/ws") as ws:
            start_and_speak(ws, pcm, rate)
            ws.send_text(json.dumps({"type": "stop"}))
            final = read_until(ws, lambda m: m["type"] == "final_transcript", [])
    assert final["text"] == "hello there"


def test_unsupported_rate_is_named_with_the_fix(tmp_path: Path) -> None:
    with sim() as s:
        engines = listening_engines(seed_settings(s.url, tmp_path), WordsStt())
        with TestClient(create_api(engines)) as client, client.websocket_connect("/ws") as ws:
            ws.send_text(json.dumps({"type": "start", "sample_rate": 11025}))
            log: list[dict[str, Any]] = []
            while not log or log[-1]["type"] != "_closed":
                log.append(receive(ws))
    err = log[0]
    assert err["code"] == "PROTOCOL_VIOLATION" and "11025" in err["message"] and "44100" in err["message"]
    assert [m["type"] for m in log[1:]] == ["phase", "_closed"] and log[-1]["code"] == 1008


def test_seed_sequence_over_a_real_port_with_websockets(slow_sim: OllamaSim, tmp_path: Path,
                                                        jfk_path: Path) -> None:
    from websockets.sync.client import connect

    engines = listening_engines(seed_settings(slow_sim.url, tmp_path), WordsStt("hello there"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_api(engines), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        pcm, rate = speech(jfk_path, 2.0)
        log: list[dict[str, Any]] = []
        with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10) as ws:
            ws.send(json.dumps({"type": "start", "sample_rate": rate}))
            for frame in frames(pcm, rate):
                ws.send(frame)
            ws.send(json.dumps({"type": "stop"}))
            while not log or log[-1]["type"] != "tts_complete":
                raw = ws.recv(timeout=20)
                assert isinstance(raw, str)
                log.append(json.loads(raw))
    finally:
        server.should_exit = True
        thread.join(10)
    check_reply(log)
    assert "".join(m["text"] for m in log if m["type"] == "llm_token") == "Hello there. Nice to meet you."
