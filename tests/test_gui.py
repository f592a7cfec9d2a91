"""The Gradio page served beside the API: the page, its client, /ws and the history panel's data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.config import Settings
from gui.app import _session_choices, create_app, session_messages
from tests.wsclient import fast_settings, hello, make_engines, scripted_sim, until


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with scripted_sim() as sim:
        yield fast_settings(sim.url, tmp_path)


def test_page_api_and_client_share_one_app(settings: Settings) -> None:
    with TestClient(create_app(make_engines(settings))) as c:
        page = c.get("/")
        assert page.status_code == 200 and "<html" in page.text
        config = c.get("/config").json()
        assert config["title"] == "Local voice assistant"
        blob = json.dumps(config)
        assert "va-root" in blob and "/client/client.js" in blob  # the panel and the script that drives it
        assert c.get("/client/player-worklet.js").status_code == 200
        assert c.get("/health").json()["ok"]
        with c.websocket_connect("/ws") as ws:  # Gradio mounted at / must not shadow the socket
            hello(ws)
            ws.send_text(json.dumps({"type": "text", "text": "hello"}))
            assert until(ws, "turn_done")["text"] == "Hello there. Nice to meet you."


def test_history_panel_shows_what_was_heard(settings: Settings) -> None:
    engines = make_engines(settings)
    h = engines.history
    h.new_session()  # opened, never used: not listed
    sid = h.new_session()
    h.add_message(sid, "user", "tell me a story")
    h.add_message(sid, "assistant", "Once upon a time there was a fox.", interrupted=True,
                  heard="Once upon…")
    [(label, listed)] = _session_choices(engines)
    assert listed == sid and label.endswith("“tell me a story” · 2 messages")
    msgs = session_messages(engines, sid)
    assert msgs[0] == {"role": "user", "content": "tell me a story"}
    assert msgs[1]["role"] == "assistant" and "heard: Once upon…" in msgs[1]["content"]
    assert session_messages(engines, None) == []
