"""The Guard and the wire limits over a real port, with the `websockets` client a page or a program would use.

A DNS-rebinding page is a socket to 127.0.0.1 whose requests name the attacker's host: the tests open exactly
that (a socket to 127.0.0.1, a handshake for evil.example.com).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from core.config import Settings
from tests.live_server import free_port, serving, with_gui
from tests.wsclient import fast_settings, scripted_sim

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "tr0ub4dor-and-3-more-words"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with scripted_sim() as sim:
        yield with_gui(fast_settings(sim.url, tmp_path), port=free_port(), allowed_hosts=[],
                       max_message_bytes=65_536)


def open_ws(url: str, **kw: Any) -> ClientConnection:
    return connect(url, proxy=None, open_timeout=10, **kw)


def talk(ws: ClientConnection, text: str = "hello", *, opened: bool = False) -> str:
    """hello (unless the session is open already), one typed turn; the reply's text."""
    if not opened:
        ws.send(json.dumps({"type": "hello", "listen": False}))
    ws.send(json.dumps({"type": "text", "text": text}))
    for _ in range(2000):  # bounded: a server that never finishes the turn fails the test
        m = ws.recv(timeout=30)
        if isinstance(m, str) and (ev := json.loads(m))["type"] == "turn_done":
            return str(ev["text"])
    raise AssertionError("no turn_done")


def status_of(refused: pytest.ExceptionInfo[InvalidStatus]) -> int:
    return refused.value.response.status_code


def test_real_port_refuses_foreign_pages_and_rebinding(settings: Settings) -> None:
    with serving(settings) as base:
        port = settings.gui.port
        with pytest.raises(InvalidStatus) as foreign:
            open_ws(f"ws://{base}/ws", origin="http://evil.example.com")
        assert status_of(foreign) == 403
        with pytest.raises(InvalidStatus) as other_port:
            open_ws(f"ws://{base}/ws", origin="http://localhost:8000")
        assert status_of(other_port) == 403
        rebound = socket.create_connection(("127.0.0.1", port))  # evil.example.com now resolves here
        with pytest.raises(InvalidStatus) as rebinding:
            open_ws(f"ws://evil.example.com:{port}/ws", sock=rebound,
                    origin=f"http://evil.example.com:{port}")
        assert status_of(rebinding) == 403
        with httpx.Client(base_url=f"http://{base}", trust_env=False) as http:
            for path in ("/", "/config", "/gradio_api/info"):
                assert http.get(path, headers={"Host": f"evil.example.com:{port}"}).status_code == 403
                r = http.get(path, headers={"Origin": "http://evil.example.com"})
                assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
            assert http.post("/gradio_api/call/refresh", json={"data": []},
                             headers={"Origin": "http://evil.example.com"}).status_code == 403
            assert http.get("/config", headers={"Origin": f"http://localhost:{port}"}).status_code == 200
        with open_ws(f"ws://{base}/ws", origin=f"http://127.0.0.1:{port}") as ws:
            assert talk(ws) == "Hello there. Nice to meet you."
        with open_ws(f"ws://{base}/ws", origin=None) as ws:  # a program: no Origin at all
            assert talk(ws) == "Hello there. Nice to meet you."


def test_huge_frame_is_closed_with_a_reason_and_the_server_goes_on(settings: Settings) -> None:
    limit = settings.gui.max_message_bytes
    with serving(settings) as base:
        with open_ws(f"ws://{base}/ws", max_size=None) as ws:
            ws.send(b"\0" * (limit + 2))
            with pytest.raises(ConnectionClosedError) as closed:
                while True:
                    ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
        with open_ws(f"ws://{base}/ws") as ws:
            ws.send(json.dumps({"type": "hello", "listen": False}))
            ws.send(json.dumps({"type": "text", "text": "x" * 20_000}))
            err = next(e for _ in range(50) if (e := json.loads(ws.recv(timeout=10)))["type"] == "error")
            assert err["code"] == "BAD_MESSAGE"
            assert "20000 characters" in err["message"] and "gui.max_text_chars" in err["message"]
            assert talk(ws, opened=True) == "Hello there. Nice to meet you."


def test_beyond_loopback_without_a_token_refuses_to_start() -> None:
    env = {**os.environ, "ASSISTANT_GUI__HOST": "0.0.0.0", "ASSISTANT_MCP__ENABLED": "false"}
    env.pop("ASSISTANT_GUI__AUTH_TOKEN", None)
    proc = subprocess.run([sys.executable, "launch.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    line = proc.stderr.strip()
    assert "\n" not in line and "gui.host = '0.0.0.0'" in line and "ASSISTANT_GUI__AUTH_TOKEN" in line
    short = {**env, "ASSISTANT_GUI__AUTH_TOKEN": "s3cr3t"}
    proc = subprocess.run([sys.executable, "launch.py", "check"], cwd=ROOT, env=short, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "gui.auth_token" in proc.stderr and "s3cr3t" not in proc.stderr


def test_beyond_loopback_with_a_token_requires_it(settings: Settings) -> None:
    s = with_gui(settings, host="0.0.0.0", auth_token=TOKEN)
    with serving(s) as base:
        own = f"http://127.0.0.1:{s.gui.port}"
        with pytest.raises(InvalidStatus) as anonymous:
            open_ws(f"ws://{base}/ws", origin=own)
        assert status_of(anonymous) == 401
        with pytest.raises(InvalidStatus) as wrong:
            open_ws(f"ws://{base}/ws", additional_headers={"Authorization": "Bearer " + "x" * len(TOKEN)})
        assert status_of(wrong) == 401
        with open_ws(f"ws://{base}/ws", additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
            assert talk(ws) == "Hello there. Nice to meet you."
        with httpx.Client(base_url=f"http://{base}", trust_env=False) as browser:
            assert browser.get("/").status_code == 401
            # the link printed at start: sets the cookie, then drops the token from the address
            page = browser.get(f"/?token={TOKEN}", follow_redirects=True)
            assert page.status_code == 200 and str(page.url).endswith("/") and "token" not in str(page.url)
            cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
            assert browser.get("/config").status_code == 200
        with open_ws(f"ws://{base}/ws", origin=own, additional_headers={"Cookie": cookie}) as ws:
            assert talk(ws) == "Hello there. Nice to meet you."
