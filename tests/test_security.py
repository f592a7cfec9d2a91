"""The Guard in front of the whole app (Gradio mounted): a foreign page, a rebinding host name or a missing token
is refused on every route, before a socket is accepted; the app's own page and a program are let through.

TestClient runs the real ASGI app (Gradio's routes included) in-process; test_security_server.py does the same
over a real port with the `websockets` client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from core.config import Settings
from gui.app import create_app
from tests.wsclient import fast_settings, hello, make_engines, scripted_sim, until

OWN = "http://127.0.0.1:7860"  # the app's own origin: settings.gui.port is 7860
TOKEN = "correct-horse-battery-staple-42"
SECRET_TEXT = "my secret plan"
EVIL = {"Origin": "http://evil.example.com"}
REBOUND = {"Host": "evil.example.com:7860", "Origin": "http://evil.example.com:7860"}
OTHER_PORT = {"Origin": "http://localhost:8000"}  # another local web server's page


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with scripted_sim() as sim:
        yield fast_settings(sim.url, tmp_path)


def app_client(settings: Settings, **gui: Any) -> TestClient:
    """The whole app as a browser on this computer would reach it: http://127.0.0.1:7860."""
    s = settings.model_copy(update={"gui": type(settings.gui).model_validate({**settings.gui.model_dump(), **gui})})
    engines = make_engines(s)
    sid = engines.history.new_session()
    engines.history.add_message(sid, "user", SECRET_TEXT)
    return TestClient(create_app(engines), base_url=OWN)


def call_refresh(c: TestClient, headers: dict[str, str]) -> tuple[int, str]:
    """The History panel's `refresh` through Gradio's call API: what a page would use to list conversations."""
    r = c.post("/gradio_api/call/refresh", json={"data": []}, headers=headers)
    if r.status_code != 200:
        return r.status_code, r.text
    got = c.get(f"/gradio_api/call/refresh/{r.json()['event_id']}", headers=headers)
    return got.status_code, got.text


def refused_socket(c: TestClient, headers: dict[str, str], path: str = "/ws") -> int:
    with pytest.raises(WebSocketDenialResponse) as denied, c.websocket_connect(path, headers=headers):
        pass
    return denied.value.status_code


@pytest.mark.parametrize("headers", [EVIL, REBOUND, OTHER_PORT, {"Origin": "null"}],
                         ids=["foreign-origin", "dns-rebinding", "other-local-port", "null-origin"])
def test_foreign_pages_are_refused_everywhere(settings: Settings, headers: dict[str, str],
                                              caplog: pytest.LogCaptureFixture) -> None:
    with app_client(settings) as c, caplog.at_level(logging.WARNING, logger="gui.security"):
        assert refused_socket(c, headers) == 403
        for path in ("/", "/config", "/health", "/gradio_api/info", "/client/client.js"):
            r = c.get(path, headers=headers)
            assert r.status_code == 403, path
            assert "access-control-allow-origin" not in r.headers and SECRET_TEXT not in r.text
        status, body = call_refresh(c, headers)
        assert status == 403 and SECRET_TEXT not in body
        r = c.post("/gradio_api/queue/join", json={"fn_index": 0, "data": [], "session_hash": "x"}, headers=headers)
        assert r.status_code == 403
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert lines and all(line.startswith("refused ") for line in lines)
    key = "gui.allowed_hosts" if "Host" in headers else "gui.allowed_origins"
    assert any("WEBSOCKET /ws" in line and key in line for line in lines)


def test_own_page_and_programs_are_allowed(settings: Settings) -> None:
    with app_client(settings) as c:
        for headers in ({"Origin": OWN}, {}, {"Origin": "http://localhost:7860"}, {"Host": "[::1]:7860"}):
            assert c.get("/config", headers=headers).status_code == 200, headers
            status, body = call_refresh(c, headers)
            assert status == 200 and SECRET_TEXT in body  # the History panel works for its own page
        with c.websocket_connect("/ws", headers={"Origin": OWN}) as ws:
            hello(ws)
            ws.send_text(json.dumps({"type": "text", "text": "hello"}))
            assert until(ws, "turn_done")["text"] == "Hello there. Nice to meet you."


def test_configured_host_and_origin_are_allowed(settings: Settings) -> None:
    with app_client(settings, allowed_hosts=["mybox.lan"], allowed_origins=["http://dev.lan:3000"]) as c:
        assert c.get("/health", headers={"Host": "mybox.lan:7860", "Origin": "http://mybox.lan:7860"}).is_success
        assert c.get("/health", headers={"Origin": "http://dev.lan:3000"}).is_success
        assert c.get("/health", headers={"Origin": "http://dev.lan:3001"}).status_code == 403
        assert c.get("/health", headers={"Host": "other.lan"}).status_code == 403


def test_cross_site_request_without_origin_is_refused(settings: Settings) -> None:
    """`<img src>` or `<script src>` on another site sends no Origin, but the browser says where it came from."""
    with app_client(settings) as c:
        sneaky = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}
        assert c.get("/config", headers=sneaky).status_code == 403
        link = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
        page = c.get("/", headers=link)  # following a link to the app is fine: the page is the user's
        assert page.status_code == 200 and page.headers["x-frame-options"] == "DENY"
        framed = {**link, "Sec-Fetch-Dest": "iframe"}  # but not inside another site's frame
        assert c.get("/", headers=framed).status_code == 403


def test_token_is_required_and_the_page_keeps_it_in_a_cookie(settings: Settings,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    with app_client(settings, auth_token=TOKEN) as c, caplog.at_level(logging.DEBUG):
        for path in ("/", "/config", "/health", "/gradio_api/info"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
        assert refused_socket(c, {"Origin": OWN}) == 401
        assert c.get("/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        with c.websocket_connect(f"/ws?token={TOKEN}") as ws:  # a program may put it in the URL
            hello(ws)
        opened = c.get(f"/?token={TOKEN}&session=abc", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/?session=abc"  # token out of the URL
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert c.get("/").status_code == 200  # the client now carries the cookie, like the browser would
        status, body = call_refresh(c, {"Origin": OWN})
        assert status == 200 and SECRET_TEXT in body
        browser_cookie = cookie.split(";")[0]  # TestClient's sockets skip its cookie jar: send what a browser sends
        with c.websocket_connect("/ws", headers={"Origin": OWN, "Cookie": browser_cookie}) as ws:
            hello(ws)
        shown = c.get("/config").text + c.get("/health").text
        assert TOKEN not in shown and "**********" in c.get("/config").text
        c.cookies.clear()
        assert c.get("/config").status_code == 401
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("gui", "core", "realtime", "app", "uvicorn")]
    assert ours and not [r for r in ours if TOKEN in r.getMessage()]


def test_health_hides_credentials_in_urls(settings: Settings) -> None:
    down = {"host": "http://alice:hunter2-secret@127.0.0.1:9"}
    s = settings.model_copy(update={"ollama": settings.ollama.model_copy(update=down)})
    with TestClient(create_app(make_engines(s)), base_url=OWN) as c:
        body = c.get("/health").text
    assert "hunter2-secret" not in body and "***@127.0.0.1:9" in body


def test_oversized_http_body_is_refused(settings: Settings) -> None:
    with app_client(settings) as c:
        big = b"x" * (settings.gui.max_message_bytes + 1)
        r = c.post("/gradio_api/queue/join", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "gui.max_message_bytes" in r.text
