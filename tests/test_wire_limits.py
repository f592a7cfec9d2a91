"""Every bound of gui/limits.py, hit for real through /ws: each ends in a clear BAD_MESSAGE, the socket stays
usable, and a client that keeps sending garbage is closed with a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from gui.limits import MAX_BAD_IN_A_ROW, MAX_JSON_DEPTH, MAX_SAMPLES
from tests.ws_fixtures import client, settings, sim  # noqa: F401  (fixtures)
from tests.wsclient import hello, until


def error_for(ws: Any, frame: str | bytes) -> str:
    """Send one frame; the BAD_MESSAGE text it earned."""
    if isinstance(frame, bytes):
        ws.send_bytes(frame)
    else:
        ws.send_text(frame)
    err = until(ws, "error")
    assert err["code"] == "BAD_MESSAGE" and err["recoverable"] is True
    return str(err["message"])


@pytest.mark.parametrize(("frame", "must_say"), [
    (json.dumps({"type": "text", "text": "x" * 20_000}), ["20000 characters", "4000", "gui.max_text_chars"]),
    ("[" * 100_000 + "]" * 100_000, ["text frame of 200000 characters", "gui.max_text_chars"]),
    ('{"type": "text", "a": ' + "[" * 5_000 + "]" * 5_000 + "}", ["nested too deep"]),
    ('{"type": "text", "a": ' + "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1) + "}", ["nested too deep"]),
    ('{"type": "playback", "played_samples": NaN}', ["NaN", "finite number"]),
    ('{"type": "playback", "played_samples": ' + "9" * 5000 + "}", ["cannot use"]),
    (json.dumps({"type": "playback", "played_samples": MAX_SAMPLES + 1}), ["out of range", str(MAX_SAMPLES)]),
    (json.dumps({"type": "playback", "played_samples": 10, "epoch": -1}), ["'epoch'", "out of range"]),
    (json.dumps({"type": "hello", "session_id": "../../etc/passwd"}), ["not a session id", "1-64"]),
    (json.dumps({"type": "hello", "session_id": "a" * 65}), ["not a session id"]),
    (json.dumps({"type": "settings", "tts_chain": [{"x": 1}]}), ["tts_chain", "voice names"]),
    (json.dumps({"type": "settings", "tts_chain": ["piper"] * 9}), ["at most 8"]),
    (json.dumps({"type": "z" * 1000}), ["unknown message type of 1000 characters"]),
    ('{"type": "text", "text": "unterminated', ["not valid JSON"]),
    (b"\x01\x02\x03", ["3 bytes", "even number"]),
    (b"\0" * (1_048_576 + 2), ["1048578 bytes", "gui.max_message_bytes"]),
], ids=["20000-chars", "huge-frame", "deep-json", "depth-9", "nan", "5000-digits", "samples-range", "epoch-range",
        "path-as-session", "long-session", "chain-of-objects", "chain-too-long", "long-type", "broken-json",
        "odd-audio", "huge-audio"])
def test_each_limit_gives_a_clear_error_and_the_socket_goes_on(client: TestClient, frame: str | bytes,
                                                                must_say: list[str]) -> None:
    opens = isinstance(frame, str) and '"type": "hello"' in frame  # a bad hello is itself the first message
    with client.websocket_connect("/ws") as ws:
        if not opens:
            hello(ws)  # the first message chooses the dialect; the limits apply to what follows
        message = error_for(ws, frame)
        for piece in must_say:
            assert piece in message, message
        assert len(message) < 400  # the frame is never echoed back whole
        if opens:
            hello(ws)
        ws.send_text(json.dumps({"type": "text", "text": "hello"}))
        assert until(ws, "turn_done")["text"] == "Hello there. Nice to meet you."


def test_a_message_at_the_limit_is_accepted(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        ws.send_text(json.dumps({"type": "text", "text": "hello " + "é" * 3994}))  # 4000 characters, escaped
        assert until(ws, "turn_done")["text"] == "Hello there. Nice to meet you."


def test_a_client_that_keeps_sending_garbage_is_closed_with_a_reason(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        for i in range(MAX_BAD_IN_A_ROW - 1):
            error_for(ws, f"garbage {i}")
        ws.send_text(json.dumps({"type": "interrupt"}))  # one good message resets the count
        for i in range(MAX_BAD_IN_A_ROW - 1):
            error_for(ws, f"garbage {i}")
        error_for(ws, "the last straw")  # its own error first, then why the socket closes
        last = until(ws, "error")
        assert f"{MAX_BAD_IN_A_ROW} malformed messages in a row" in last["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(10):
                ws.receive_text()
        assert closed.value.code == 1008
    with client.websocket_connect("/ws") as ws:  # the server itself is fine
        hello(ws)
