"""Talking over a reply on `/ws`: a client that reports playback is told to hold its player, then to go on.

Before, only the desktop speaker and the paced output could pause; the page's player played on through a cough
or a "mhm". The page's own handling (its worklet's playhead) is in tests/test_browser.py.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from app.bench_voices import espeak_say
from core.config import Settings
from gui.api import create_api
from gui.transport import BrowserOutput
from tests.fakes import FixedSTT
from tests.ws_fixtures import settings, sim  # noqa: F401  (fixtures)
from tests.wsclient import hello, make_engines, receive, until

FRAME = 480  # 30 ms at 16 kHz


def speak_in_real_time(ws: Any, pcm: np.ndarray) -> None:
    """Mic frames at a microphone's pace: the barge-in policy weighs the overlap by the clock."""
    start = time.monotonic()
    for i in range(0, len(pcm), FRAME):
        time.sleep(max(0.0, start + i / 16000 - time.monotonic()))
        ws.send_bytes(pcm[i:i + FRAME].tobytes())


def test_a_backchannel_over_the_reply_holds_the_clients_player_then_lets_it_go_on(settings: Settings) -> None:
    engines = dataclasses.replace(make_engines(settings), stt=FixedSTT("Okay."))
    speech = np.concatenate([np.zeros(4800, np.int16), espeak_say("okay"), np.zeros(16000 * 3, np.int16)])
    with TestClient(create_api(engines)) as client, client.websocket_connect("/ws") as ws:
        hello(ws, listen=True, report_playback=True)  # never reports: the reply stays "playing"
        ws.send_text(json.dumps({"type": "text", "text": "a long answer please"}))
        until(ws, "tts_audio")
        log: list[Any] = []
        talker = threading.Thread(target=speak_in_real_time, args=(ws, speech))
        talker.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                isinstance(m, dict) and m["type"] == "hold" and not m["held"] for m in log):
            log.append(receive(ws))
        talker.join()
        ws.send_text(json.dumps({"type": "interrupt"}))  # end the never-played reply
        until(ws, "turn_done", log)
    kinds = [m["type"] for m in log if isinstance(m, dict)]
    holds = [m["held"] for m in log if isinstance(m, dict) and m["type"] == "hold"]
    assert holds[:2] == [True, False], kinds
    assert "speech_started" in kinds and kinds.index("speech_started") < kinds.index("hold")
    cut = kinds.index("clear") if "clear" in kinds else len(kinds)
    assert "interrupted" not in kinds[:cut] and cut > kinds.index("hold", kinds.index("hold") + 1), kinds


class Sent:
    epoch = 0

    def __init__(self) -> None:
        self.events: list[Any] = []

    def send_event(self, ev: Any) -> None:
        self.events.append(ev)


def test_a_client_that_does_not_report_playback_is_not_asked_to_hold() -> None:
    """It may not play at all (a recorder, a bot): the policy is told the output cannot hold."""
    sender = Sent()
    quiet = BrowserOutput(sender, 16000)  # type: ignore[arg-type]
    assert quiet.pause() is False and not sender.events
    player = BrowserOutput(sender, 16000, reports_playback=True)  # type: ignore[arg-type]
    assert player.pause() is True
    player.resume()
    player.resume()  # only one release for one hold
    assert [(e.type, e.held) for e in sender.events] == [("hold", True), ("hold", False)]
    player.pause()
    player.clear()  # a clear ends the hold on the page too: no release is sent after it
    player.resume()
    assert [e.type for e in sender.events][2:] == ["hold", "clear"]
