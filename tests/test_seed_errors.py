"""Seed 004's error matrix, each code produced for real over the seed dialect of `/ws`: a decoder that raises,
an utterance over vad.max_utterance_s, a model that withholds its first token, a voice that fails, a protocol
misuse, a cancel, and an exception inside a turn task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from gui.api import create_api
from realtime.engines import Engines
from tests.seed_kit import (
    BrokenVoice,
    BuggyTools,
    CrashingStt,
    WordsStt,
    listening_engines,
    read_until,
    receive,
    seed_settings,
    sim,
    speech,
    start_and_speak,
)
from tests.wsclient import ToneVoice

MATRIX = {  # code -> recoverable, as seed 004 section 5 says
    "ASR_FAIL": True, "MAX_DURATION_EXCEEDED": True, "LLM_TIMEOUT": True, "TTS_FAIL": True,
    "PROTOCOL_VIOLATION": False, "CANCELLED": True, "INTERNAL": False,
}


def speak_and_stop(ws: WebSocketTestSession, jfk: Path, seconds: float = 2.0) -> None:
    pcm, rate = speech(jfk, seconds)
    start_and_speak(ws, pcm, rate)
    ws.send_text(json.dumps({"type": "stop"}))


def produce(code: str, tmp: Path, jfk: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Make the failure happen for real; return the error event and everything received up to it."""
    slow_model = code == "LLM_TIMEOUT"
    with sim(first_token_s=3.0 if slow_model else 0.05) as s:
        sections: dict[str, dict[str, Any]] = {}
        stt: Any = WordsStt("hello there")
        voices: list[Any] | None = None
        tools = None
        if code == "ASR_FAIL":
            stt = CrashingStt()
        elif code == "MAX_DURATION_EXCEEDED":
            sections["vad"] = {"max_utterance_s": 1.0, "silence_ms": 2000, "preemptive_ms": 0}
        elif slow_model:
            sections["ollama"] = {"first_token_timeout_s": 0.4}
        elif code == "TTS_FAIL":
            voices = [BrokenVoice("cloud"), ToneVoice("local")]
        elif code == "INTERNAL":
            stt = WordsStt("use the tool")
            tools = BuggyTools()
        engines: Engines = listening_engines(seed_settings(s.url, tmp, **sections), stt, voices, tools)
        log: list[dict[str, Any]] = []
        with TestClient(create_api(engines)) as client, client.websocket_connect("/ws") as ws:
            if code == "PROTOCOL_VIOLATION":  # a second session opener inside a streaming session
                ws.send_text(json.dumps({"type": "start", "sample_rate": 16000}))
                ws.send_text(json.dumps({"type": "hello"}))
            elif code == "CANCELLED":
                speak_and_stop(ws, jfk)
                read_until(ws, lambda m: m["type"] == "final_transcript", log)
                ws.send_text(json.dumps({"type": "cancel"}))
            else:
                speak_and_stop(ws, jfk, 4.0 if code == "MAX_DURATION_EXCEEDED" else 2.0)
            err = read_until(ws, lambda m: m["type"] == "error" and m["code"] == code, log)
            if not MATRIX[code]:  # not recoverable: the server ends the connection
                tail = [receive(ws)]
                while tail[-1]["type"] != "_closed" and len(tail) < 50:
                    tail.append(receive(ws))
                log.append(tail[-1])
            else:
                log.append(receive(ws))  # the phase that follows the error
                if code == "MAX_DURATION_EXCEEDED":  # what was said is still transcribed
                    read_until(ws, lambda m: m["type"] == "final_transcript", log)
    return err, log


@pytest.mark.parametrize("code", list(MATRIX))
def test_error_matrix(code: str, tmp_path: Path, jfk_path: Path) -> None:
    err, log = produce(code, tmp_path, jfk_path)
    assert err["recoverable"] is MATRIX[code], err
    assert set(err) >= {"type", "error", "code", "message", "recoverable"} and len(err["message"]) > 20
    if not MATRIX[code]:
        assert log[-1] == {"type": "_closed", "code": 1008 if code == "PROTOCOL_VIOLATION" else 1011}
    assert not [m for m in log if m["type"] == "error" and m["code"] == "STT_FAIL"]  # the seed's name only
    if code == "MAX_DURATION_EXCEEDED":
        assert any(m["type"] == "final_transcript" for m in log)  # what was said is still answered
    if code == "LLM_TIMEOUT":
        assert "first token" in err["message"] and "first_token_timeout_s" in err["message"]
    if code == "TTS_FAIL":
        assert "cloud" in err["message"]
    if code == "INTERNAL":
        assert "KeyError" in err["message"]
    if MATRIX[code]:
        expected = "COMPLETE" if code == "CANCELLED" else "ERROR"
        after = log[log.index(err) + 1]
        assert after == {**after, "type": "phase", "phase": expected}, after
