"""The `/ws` protocol and `/health`, through FastAPI's TestClient against a real scripted Ollama server.

The voice is a fake (a tone whose length follows the text) so these run in seconds; the browser tests use the
real Whisper and Piper.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from app.ollama_sim import OllamaSim
from app.wiring import load_engines
from core.config import Settings
from gui.api import create_api
from gui.transport import parse_audio_frame
from realtime.engines import Engines
from tests.ws_fixtures import client, settings, sim  # noqa: F401  (fixtures)
from tests.wsclient import (
    RATE,
    ToneVoice,
    hello,
    make_engines,
    next_audio,
    receive,
    saved_rows,
    until,
)


def test_text_turn_streams_events_and_audio(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ready = hello(ws)
        assert ready["sample_rate"] == RATE and ready["session_id"]
        ws.send_text(json.dumps({"type": "text", "text": "hello assistant"}))
        log: list[Any] = []
        done = until(ws, "turn_done", log)
        until(ws, "state", log)  # back to idle once the turn is closed
    events = [m for m in log if isinstance(m, dict)]
    audio = [parse_audio_frame(m) for m in log if isinstance(m, bytes)]
    tokens = "".join(e["text"] for e in events if e["type"] == "llm_token")
    assert tokens == "Hello there. Nice to meet you." == done["text"]
    assert [e["text"] for e in events if e["type"] == "sentence"] == ["Hello there.", "Nice to meet you."]
    tts = [e for e in events if e["type"] == "tts_audio"]
    assert [t["seq"] for t in tts] == [0, 1] and all("audio" not in t for t in tts)
    assert [seq for seq, _ in audio] == [0, 1]
    for (_, pcm), t in zip(audio, tts, strict=True):
        assert len(pcm) == round(t["duration_s"] * RATE) and np.abs(pcm).max() > 1000
    states = [e["state"] for e in events if e["type"] == "state"]
    assert states == ["idle", "thinking", "speaking", "idle"]  # the first is the state right after ready
    assert not done["interrupted"]


def test_malformed_messages_get_bad_message_and_the_socket_keeps_working(client: TestClient) -> None:
    bad: list[str | bytes] = [
        "this is not json", '["a", "list"]', '{"no_type": 1}', '{"type": "dance"}', '{"type": "text"}',
        '{"type": "text", "text": "   "}', '{"type": "playback", "played_samples": -5}',
        '{"type": "playback", "played_samples": "many"}', '{"type": "settings", "tts_chain": ["nope"]}',
        '{"type": "hello"}', b"\x01\x02\x03",
    ]
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        for frame in bad:
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send_text(frame)
            err = until(ws, "error")
            assert err["code"] == "BAD_MESSAGE" and err["recoverable"], frame
            assert len(err["message"]) > 30, err  # names the problem and the fix
        ws.send_text(json.dumps({"type": "text", "text": "hello again"}))
        done = until(ws, "turn_done")
    assert done["text"] == "Hello there. Nice to meet you."


def test_bad_message_texts_name_the_fix(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        ws.send_text("{oops")
        assert "valid JSON" in until(ws, "error")["message"]
        ws.send_text('{"type": "dance"}')
        msg = until(ws, "error")["message"]
        assert "'dance'" in msg and "interrupt" in msg
        ws.send_bytes(b"\x00" * 7)
        assert "7 bytes" in until(ws, "error")["message"]


def test_interrupt_sends_clear_and_interrupted(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello(ws, report_playback=True)  # we never report: the reply stays "playing"
        ws.send_text(json.dumps({"type": "text", "text": "a long answer please"}))
        until(ws, "tts_audio")
        ws.send_text(json.dumps({"type": "interrupt"}))
        log: list[Any] = []
        done = until(ws, "turn_done", log)
    kinds = [m["type"] for m in log if isinstance(m, dict)]
    assert "clear" in kinds and "interrupted" in kinds
    assert kinds.index("clear") < kinds.index("interrupted")
    assert done["interrupted"]
    interrupted = next(m for m in log if isinstance(m, dict) and m["type"] == "interrupted")
    assert interrupted["heard"] == ""  # the client reported nothing played


def test_reply_is_cut_to_what_the_client_played(client: TestClient, settings: Settings) -> None:
    engines = client.app.state.engines  # type: ignore[attr-defined]
    with client.websocket_connect("/ws") as ws:
        ready = hello(ws, report_playback=True)
        ws.send_text(json.dumps({"type": "text", "text": "a long answer please"}))
        _, pcm = parse_audio_frame(next_audio(ws))
        ws.send_text(json.dumps({"type": "playback", "played_samples": len(pcm), "epoch": 0}))
        until(ws, "playback")  # the server saw phrase 0 finish
        ws.send_text(json.dumps({"type": "interrupt"}))
        interrupted = until(ws, "interrupted")
        clear_seen = until(ws, "turn_done")
    assert interrupted["heard"] == "First sentence of a long answer."
    assert clear_seen["interrupted"]
    stored = saved_rows(engines.history, ready["session_id"], 2)
    assert stored[-1]["interrupted"] and stored[-1]["heard"] == "First sentence of a long answer."


def test_played_reports_let_the_turn_finish(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello(ws, report_playback=True)
        ws.send_text(json.dumps({"type": "text", "text": "hello"}))
        played = 0
        for _ in range(2000):
            m = receive(ws)
            if isinstance(m, bytes):
                played += len(parse_audio_frame(m)[1])
                ws.send_text(json.dumps({"type": "playback", "played_samples": played, "epoch": 0}))
            elif m["type"] == "turn_done":
                break
        else:
            raise AssertionError("no turn_done within 2000 frames while reporting playback")
    assert not m["interrupted"] and played > 0


def test_settings_switch_voice_chain_and_mode(settings: Settings) -> None:
    a, b = ToneVoice("alpha"), ToneVoice("beta")
    with TestClient(create_api(make_engines(settings, [a, b]))) as c, c.websocket_connect("/ws") as ws:
        ready = hello(ws)
        assert ready["tts_chain"] == ["alpha", "beta"] and ready["streaming"] is True
        ws.send_text(json.dumps({"type": "settings", "tts_chain": ["beta"], "streaming": False}))
        echo = until(ws, "settings")
        assert echo["tts_chain"] == ["beta"] and echo["streaming"] is False
        ws.send_text(json.dumps({"type": "text", "text": "hello"}))
        log: list[Any] = []
        until(ws, "turn_done", log)
    providers = {m["provider"] for m in log if isinstance(m, dict) and m["type"] == "tts_audio"}
    assert providers == {"beta"} and b.spoken and not a.spoken


def test_without_the_switch_the_first_voice_speaks(settings: Settings) -> None:
    """Control for the switch above: the same turn without the settings message is voiced by alpha."""
    a, b = ToneVoice("alpha"), ToneVoice("beta")
    with TestClient(create_api(make_engines(settings, [a, b]))) as c, c.websocket_connect("/ws") as ws:
        hello(ws)
        ws.send_text(json.dumps({"type": "text", "text": "hello"}))
        log: list[Any] = []
        until(ws, "turn_done", log)
    providers = {m["provider"] for m in log if isinstance(m, dict) and m["type"] == "tts_audio"}
    assert providers == {"alpha"} and a.spoken and not b.spoken


def test_hello_resumes_a_session(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ready = hello(ws)
        ws.send_text(json.dumps({"type": "text", "text": "hello"}))
        until(ws, "turn_done")
    with client.websocket_connect("/ws") as ws:
        again = hello(ws, session_id=ready["session_id"])
        past = until(ws, "history")["messages"]
    assert again["session_id"] == ready["session_id"]
    assert [(m["role"], m["content"]) for m in past] == [
        ("user", "hello"), ("assistant", "Hello there. Nice to meet you.")]
    with client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"type": "hello", "session_id": "no-such-session"}))
        err = until(ws, "error")
        assert err["code"] == "BAD_MESSAGE" and "unknown session_id" in err["message"]
        assert hello(ws)["session_id"] != ready["session_id"]  # a corrected hello still works


def test_mic_audio_without_speech_recognition_is_reported_once(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello(ws, listen=True)
        ws.send_bytes(np.zeros(640, dtype=np.int16).tobytes())
        err = until(ws, "error")
        assert err["code"] == "AUDIO_INPUT" and "listen" in err["message"]


def test_health_reports_components(client: TestClient, settings: Settings) -> None:
    r = client.get("/health")
    body = r.json()
    assert r.status_code == 200 and body["ok"]
    assert body["components"]["ollama"]["ok"] and body["components"]["tts"]["ok"]
    down = settings.model_copy(update={"ollama": settings.ollama.model_copy(update={"host": "http://127.0.0.1:9"})})
    with TestClient(create_api(make_engines(down))) as c2:
        r2 = c2.get("/health")
    assert r2.status_code == 503 and not r2.json()["ok"]
    assert "ollama serve" in r2.json()["components"]["ollama"]["fix"]


def test_client_files_are_served(client: TestClient) -> None:
    for name in ("client.js", "reply-player.js", "capture-worklet.js", "player-worklet.js", "client.css"):
        r = client.get(f"/client/{name}")
        assert r.status_code == 200 and len(r.text) > 100, name


def test_missing_speech_model_is_said_plainly_and_text_still_works(sim: OllamaSim, settings: Settings) -> None:
    """A configured Whisper model that is not on the machine: the app starts, says why, and typing works."""
    import asyncio
    import dataclasses

    async def load() -> Engines:
        s = settings.model_copy(update={"stt": settings.stt.model_copy(update={"model": "base.en"})})
        loaded = await load_engines(s, tools=False)
        await loaded.aclose()
        return loaded

    loaded = asyncio.run(load())
    assert loaded.stt is None and loaded.stt_error and "base.en" in loaded.stt_error
    engines = dataclasses.replace(make_engines(settings), stt_error=loaded.stt_error)
    with TestClient(create_api(engines)) as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello"})
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["listen"] is False
        err = until(ws, "error")
        assert err["code"] == "STT_FAIL" and "base.en" in err["message"] and "typing still works" in err["message"]
        ws.send_json({"type": "text", "text": "hello"})
        done = until(ws, "turn_done")
        assert done["text"] == "Hello there. Nice to meet you."
        health = client.get("/health").json()
        assert health["components"]["stt"]["ok"] is False and "base.en" in health["components"]["stt"]["detail"]
