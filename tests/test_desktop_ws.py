"""`/ws` sessions whose audio is this computer's microphone and speaker (hello "audio": "desktop").

The fast tests run through FastAPI's TestClient: a missing device is really missing (no sound server outside
the `sound` tests); the devices that do open are small fakes, because the slot and refusal logic is under test,
not PortAudio. The slow test runs the real app under uvicorn on the test PulseAudio daemon with Whisper and
Piper: Kennedy is played into the virtual microphone and the reply is recorded from the speaker sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from faster_whisper import decode_audio

from app.ollama_sim import OllamaSim, Reply, Rule
from base.events import Event
from core.config import Settings, load_settings
from gui.api import create_api
from realtime import desktop as desktop_audio
from realtime.audio_out import BufferedOutput
from tests import soundserver
from tests.fakes import FixedSTT
from tests.livebrowser import LiveApp, launch_browser, open_page
from tests.netutil import free_port
from tests.waiting import wait_for, wait_for_sync
from tests.wsclient import fast_settings, hello, make_engines, scripted_sim, until


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with scripted_sim() as sim:
        yield fast_settings(sim.url, tmp_path)


def listening_client(settings: Settings) -> TestClient:
    """An app whose sessions listen (a fixed transcript instead of Whisper), so desktop mode opens the mic."""
    return TestClient(create_api(dataclasses.replace(make_engines(settings), stt=FixedSTT())))


def hello_until_ready(ws: Any, **fields: Any) -> tuple[dict[str, Any], list[Any]]:
    """Send a hello; return `ready` and everything received before it (errors come first)."""
    seen: list[Any] = []
    ws.send_text(json.dumps({"type": "hello", **fields}))
    return until(ws, "ready", seen), seen


def test_missing_microphone_is_named_and_text_still_works(settings: Settings) -> None:
    settings.audio.input_device = "no-such-microphone"
    with listening_client(settings) as client, client.websocket_connect("/ws") as ws:
        ready, seen = hello_until_ready(ws, audio="desktop")
        [err] = [m for m in seen if isinstance(m, dict) and m["type"] == "error"]
        assert err["code"] == "AUDIO_INPUT" and err["recoverable"]
        assert "no-such-microphone" in err["message"] and "launch.py devices" in err["message"]
        assert "audio.input_device" in err["message"]
        assert ready["audio"] == "browser" and ready["devices"] == {}
        ws.send_text(json.dumps({"type": "text", "text": "hello"}))
        log: list[Any] = []
        assert until(ws, "turn_done", log)["text"] == "Hello there. Nice to meet you."
        assert any(isinstance(m, bytes) for m in log)  # browser mode: the reply comes down the socket
        assert client.app.state.desktop_slot.owner is None  # type: ignore[attr-defined]  # freed for others


def test_unknown_audio_mode_is_a_bad_message(settings: Settings) -> None:
    with listening_client(settings) as client, client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"type": "hello", "audio": "speakers"}))
        err = until(ws, "error")
        assert err["code"] == "BAD_MESSAGE" and "'browser'" in err["message"] and "'desktop'" in err["message"]
        assert hello(ws)["audio"] == "browser"  # a bad hello started nothing


class FakeSpeaker(BufferedOutput):
    """Stands in for SpeakerOutput: collects what would be played."""

    opened: ClassVar[list[FakeSpeaker]] = []

    def __init__(self, cfg: Any, sample_rate: int) -> None:
        super().__init__(sample_rate)
        self.device_name = "fake speaker"
        self.running = False

    async def start(self) -> None:
        self.running = True
        FakeSpeaker.opened.append(self)

    async def stop(self) -> None:
        self.running = False


class FakeMic:
    """Stands in for MicrophoneSource: opens, delivers nothing."""

    def __init__(self, cfg: Any, on_frame: Callable[[np.ndarray], None],
                 on_error: Callable[[Event], None] | None = None) -> None:
        self.device_name = "fake mic"
        self.running = False

    async def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False


@pytest.fixture
def fake_devices(monkeypatch: pytest.MonkeyPatch) -> type[FakeSpeaker]:
    FakeSpeaker.opened = []
    monkeypatch.setattr(desktop_audio, "SpeakerOutput", FakeSpeaker)
    monkeypatch.setattr(desktop_audio, "MicrophoneSource", FakeMic)
    return FakeSpeaker


def test_one_desktop_session_at_a_time(settings: Settings, fake_devices: type[FakeSpeaker]) -> None:
    with listening_client(settings) as client, client.websocket_connect("/ws") as first:
        ready, _ = hello_until_ready(first, audio="desktop")
        assert ready["audio"] == "desktop" and ready["listen"]
        assert ready["devices"] == {"input": "fake mic", "output": "fake speaker"}
        # the reply plays on the computer: events reach the page, audio frames do not
        first.send_text(json.dumps({"type": "text", "text": "hello"}))
        log: list[Any] = []
        assert until(first, "turn_done", log)["text"] == "Hello there. Nice to meet you."
        assert any(isinstance(m, dict) and m["type"] == "sentence" for m in log)
        assert not any(isinstance(m, bytes) for m in log)
        [speaker] = fake_devices.opened
        assert len(speaker.audio()) > 0
        # binary mic frames are refused: the desktop mic is this session's input
        first.send_bytes(np.zeros(480, dtype="<i2").tobytes())
        err = until(first, "error")
        assert err["code"] == "BAD_MESSAGE" and "desktop" in err["message"] and '"browser"' in err["message"]
        with client.websocket_connect("/ws") as second:
            other, seen = hello_until_ready(second, audio="desktop")
            [refused] = [m for m in seen if isinstance(m, dict) and m["type"] == "error"]
            assert refused["code"] == "AUDIO_INPUT" and ready["session_id"][:8] in refused["message"]
            assert "this browser" in refused["message"]
            assert other["audio"] == "browser"
            second.send_bytes(np.zeros(480, dtype="<i2").tobytes())  # browser audio is fine there
            second.send_text(json.dumps({"type": "text", "text": "hello"}))
            second_log: list[Any] = []
            assert until(second, "turn_done", second_log)["text"]
            # control for `not any(bytes)` above: the same turn in browser mode does send audio frames
            assert any(isinstance(m, bytes) for m in second_log)
        first.send_text(json.dumps({"type": "interrupt"}))
    assert not speaker.running  # closing the session closed the devices
    with listening_client(settings) as client:  # and once it is closed, the next session may have them
        with client.websocket_connect("/ws") as ws:
            assert hello_until_ready(ws, audio="desktop")[0]["audio"] == "desktop"
        with client.websocket_connect("/ws") as ws:
            assert hello_until_ready(ws, audio="desktop")[0]["audio"] == "desktop"


# --- the real thing: uvicorn, websockets, PulseAudio, Whisper, Piper ---------------------------------------

async def _next(ws: Any, frames: list[Any], timeout: float) -> dict[str, Any] | None:
    """The next JSON event (binary frames are counted into `frames`), or None after `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            return None
        if isinstance(raw, bytes):
            frames.append(raw)
            continue
        return dict(json.loads(raw))
    return None


async def _until(ws: Any, kind: str, log: list[dict[str, Any]], frames: list[Any],
                 timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ev = await _next(ws, frames, left)
        if ev is None:
            break
        log.append(ev)
        if ev["type"] == kind:
            return ev
    raise AssertionError(f"no {kind} event; last events: {[e['type'] for e in log[-15:]]}")


@pytest.mark.slow
@pytest.mark.sound
async def test_desktop_mic_and_speaker_through_ws(sounddevice_on_pulse: dict[str, str], jfk_path: Path,
                                                  tmp_path: Path) -> None:
    import uvicorn
    import websockets

    from app.wiring import load_engines

    env = sounddevice_on_pulse
    speech = tmp_path / "jfk.wav"
    sf.write(speech, decode_audio(str(jfk_path)), 16000)
    answer = "We can all do something for our country. Let us begin today."
    with OllamaSim([Rule("country", [Reply(answer)])], first_token_s=0.05, tokens_per_s=100) as sim:
        s = load_settings(memory={"db_path": str(tmp_path / "a.db"), "embedder": "none"},
                          mcp={"enabled": False}, tts={"chain": ["piper"]}, vad={"silence_ms": 1500},
                          turn={"detector": "off"})  # this test is about the devices: a fixed endpoint
        s.ollama.host = sim.url
        engines = await load_engines(s, tools=False)
        app = create_api(engines)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        recording = tmp_path / "speaker.wav"
        try:
            for _ in range(1200):
                assert not serving.done(), "the app did not start"
                if server.started:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("uvicorn did not report started within 60 s")
            url = f"ws://127.0.0.1:{port}/ws"
            async with websockets.connect(url) as ws:
                frames: list[Any] = []
                log: list[dict[str, Any]] = []
                await ws.send(json.dumps({"type": "hello", "audio": "desktop", "listen": True}))
                ready = await _until(ws, "ready", log, frames)
                assert ready["audio"] == "desktop", log
                assert not [e for e in log if e["type"] == "error"], log
                # the devices are this session's: a second page is told so and gets the browser's audio
                async with websockets.connect(url) as other:
                    await other.send(json.dumps({"type": "hello", "audio": "desktop"}))
                    other_log: list[dict[str, Any]] = []
                    assert (await _until(other, "ready", other_log, []))["audio"] == "browser"
                    assert [e["code"] for e in other_log if e["type"] == "error"] == ["AUDIO_INPUT"]
                # binary mic frames are refused: the desktop mic is the input
                await ws.send(np.zeros(480, dtype="<i2").tobytes())
                assert (await _until(ws, "error", log, frames))["code"] == "BAD_MESSAGE"
                [session] = [x for x in app.state.sessions if x.desktop is not None]
                mic = session.desktop.mic
                # the first input callback can take a while on PulseAudio
                await wait_for(lambda: mic.frames_in, 5.0, "audio from the virtual microphone")
                with soundserver.record_speaker(recording, env):
                    player = soundserver.play_into_mic(speech, env)
                    final = await _until(ws, "final_transcript", log, frames, timeout=60)
                    assert "country" in final["text"].lower()
                    done = await _until(ws, "turn_done", log, frames, timeout=60)
                    assert done["text"] == answer and not done["interrupted"]
                    await asyncio.sleep(0.5)
                    with contextlib.suppress(Exception):
                        player.wait(timeout=5)
                assert {"state", "partial_transcript", "sentence", "latency"} <= {e["type"] for e in log}
                assert frames == []  # the reply played on the computer, not down the socket
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 20)
            await engines.aclose()
    audio, rate = sf.read(recording, dtype="int16")
    win = rate // 10
    rms = np.sqrt((audio[: len(audio) // win * win].astype(np.float64).reshape(-1, win) ** 2).mean(axis=1))
    assert (rms > 300).sum() >= 10  # at least a second of the spoken reply reached the speaker
    assert app.state.desktop_slot.owner is None  # disconnecting released the devices


@pytest.mark.slow
@pytest.mark.sound
@pytest.mark.browser
def test_page_switches_to_the_computers_mic_and_speaker(sounddevice_on_pulse: dict[str, str], jfk_path: Path,
                                                        tmp_path: Path) -> None:
    """The user picks 'Audio: this computer' in the page, speaks to the computer, hears the reply from it."""
    from playwright.sync_api import sync_playwright

    env = sounddevice_on_pulse
    speech = tmp_path / "jfk.wav"
    sf.write(speech, decode_audio(str(jfk_path)), 16000)
    answer = "We can all do something for our country. Let us begin today."
    with OllamaSim([Rule("country", [Reply(answer)])], first_token_s=0.05, tokens_per_s=100) as sim:
        settings = load_settings(
            ollama={"host": sim.url}, tts={"chain": ["piper"]}, mcp={"enabled": False}, vad={"silence_ms": 1500},
            turn={"detector": "off"},
            memory={"db_path": str(tmp_path / "a.db"), "embedder": "none"},
            gui={"host": "127.0.0.1", "port": free_port()})
        with LiveApp(settings) as live, sync_playwright() as p:
            app = live.server.config.app  # the served FastAPI app, for a look at the device slot
            browser = launch_browser(p)
            page = open_page(browser, live)
            first = page.evaluate("window.assistant.sessionId")
            assert page.input_value(".va-audio-select") == "browser"
            page.select_option(".va-audio-select", "desktop")
            page.wait_for_function("window.assistant.events.filter((e) => e.type === 'ready').length === 2",
                                   timeout=30_000)
            ready = page.evaluate("window.assistant.events.filter((e) => e.type === 'ready')[1]")
            assert ready["audio"] == "desktop" and ready["session_id"] == first  # the same conversation
            assert page.is_disabled(".va-mic") and page.inner_text(".va-state") == "Listening"
            assert "this computer" in page.inner_text(".va-status")
            page.wait_for_timeout(2000)  # PulseAudio's first input callback can take a while
            recording = tmp_path / "speaker.wav"
            with soundserver.record_speaker(recording, env):
                soundserver.play_into_mic(speech, env)
                page.wait_for_function("window.assistant.events.some((e) => e.type === 'turn_done')",
                                       timeout=90_000)
                page.wait_for_timeout(500)
            chat = page.inner_text(".va-chat").lower()
            assert "ask not what your country" in chat and answer.lower() in chat
            assert page.evaluate("window.assistant.stats.audioFrames") == 0  # nothing played in the page
            # back to the browser's audio: the devices are freed for another session
            page.select_option(".va-audio-select", "browser")
            page.wait_for_function("window.assistant.events.filter((e) => e.type === 'ready').length === 3",
                                   timeout=30_000)
            assert not page.is_disabled(".va-mic")
            wait_for_sync(lambda: app.state.desktop_slot.owner is None, 5.0, "the desktop devices were released")
            assert app.state.desktop_slot.owner is None
            assert not page.errors, page.errors
            browser.close()
    audio, rate = sf.read(recording, dtype="int16")
    win = rate // 10
    rms = np.sqrt((audio[: len(audio) // win * win].astype(np.float64).reshape(-1, win) ** 2).mean(axis=1))
    assert (rms > 300).sum() >= 10  # the reply was heard from the computer's speaker
