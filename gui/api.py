"""The HTTP side of the assistant: `GET /health`, the `/ws` streaming API and the page's static client.

`/ws` protocol (one VoiceAgent, i.e. one conversation, per connection):

Client -> server
  binary frame   PCM16 little-endian mono 16 kHz microphone audio, any length (30-60 ms frames work best);
                 an odd byte count is refused with BAD_MESSAGE.
  text frame     one JSON object:
    {"type": "hello", "session_id": "...", "listen": true, "report_playback": true,
     "streaming": true, "tts_chain": ["piper"], "audio": "browser"}
                 optional, and only as the first message: continue a stored session (default: a new one),
                 listen to mic audio or not (default true), whether this client will send playback reports
                 (default false: audio counts as heard once sent), and per-session settings as below.
                 "audio": "desktop" makes this computer's microphone and speaker the session's audio (one
                 session at a time): binary frames are then refused and no reply audio is sent, events
                 still are. If the devices are taken or cannot open, an AUDIO_INPUT / AUDIO_OUTPUT error
                 says why and the session uses the client's audio ("browser") instead.
    {"type": "text", "text": "..."}           a typed message; joins the same conversation as speech.
    {"type": "interrupt"}                      stop the reply now (the stop button).
    {"type": "playback", "played_samples": N, "epoch": E}
                 what the client's player has really played since the last `clear` (send every ~100 ms while
                 playing); `epoch` (optional) is the one of the last `clear`, so late reports are ignored.
    {"type": "end_of_input"}                   the audio source ended (a file): finalize what was said.
    {"type": "settings", "streaming": bool, "tts_chain": ["piper", "pyttsx3"]}
                 switch this session's reply mode and voice chain (a subset of the server's chain, in order).

Server -> client
  text frame     `{"type": "ready", "session_id", "sample_rate", "listen", "audio", "devices", "streaming",
                 "tts_chain", "voices"}` first (`devices`: the desktop mic and speaker names, or {}), then
                 every pipeline event as `event.to_dict()`: state, speech_started, speech_ended,
                 partial_transcript, final_transcript, llm_token, tool_call, tool_pending,
                 tool_result, sentence, tts_audio, playback, interrupted, latency, turn_done,
                 error {code, message, recoverable}. Also `{"type": "clear", "epoch": E}` when the reply is
                 cut (barge-in, interrupt, a new message): drop all queued audio at once;
                 `{"type": "settings", ...}` answering a settings message; `{"type": "input_ended"}` once an
                 `end_of_input` has been processed and its reply has finished; after a hello that names a
                 session, `{"type": "history", "messages": [{role, content, interrupted, heard}]}`.
  binary frame   reply audio: uint32 little-endian `seq` (the phrase number of its `sentence` event), then
                 PCM16 LE mono at `sample_rate` from `ready`.

A malformed message (bad JSON, unknown type, wrong field, odd-sized audio) gets an `error` event with code
BAD_MESSAGE naming the problem and the fix; the connection stays open and the conversation goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from gui.ws_output import BrowserOutput, DesktopAudio, DesktopAudioError, DesktopSlot, SocketSender
from realtime.audio_out import AudioOutput
from realtime.engines import Engines
from realtime.events import ErrorCode, ErrorEvent, Event
from realtime.voice_agent import VoiceAgent

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
CLIENT_PATH = "/client"
HISTORY_SENT = 100  # messages of a continued session sent to the page
MESSAGE_TYPES = ("hello", "text", "interrupt", "playback", "end_of_input", "settings")
AUDIO_MODES = ("browser", "desktop")


class BadMessage(ValueError):
    """A client message we cannot use; the text names the problem and the fix."""


def _field(msg: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = msg.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadMessage(f"'{name}' in a {msg['type']!r} message must be {what}, got {value!r}")
    return value


def voice_names(engines: Engines) -> list[str]:
    """The voices of the server's chain, in order (a single voice is a chain of one)."""
    providers = getattr(engines.tts, "providers", None)
    return [p.name for p in providers] if providers else [engines.tts.name]


class WsSession:
    """One `/ws` connection: parses client messages, drives its VoiceAgent, forwards its events."""

    def __init__(self, engines: Engines, ws: WebSocket, desktop_slot: DesktopSlot | None = None) -> None:
        self.engines = engines
        self.ws = ws
        self.desktop_slot = desktop_slot or DesktopSlot()
        self.agent: VoiceAgent | None = None
        self.output: BrowserOutput | None = None  # None in desktop mode: the speaker is the agent's output
        self.desktop: DesktopAudio | None = None
        self._closing = False
        self.sender: SocketSender | None = None
        self._unsubscribe: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._warned_no_stt = False

    async def run(self) -> None:
        await self.ws.accept()
        self.sender = SocketSender(self.ws.send_text, self.ws.send_bytes)
        try:
            while True:
                msg = await self.ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                try:
                    if msg.get("bytes") is not None:
                        self._on_audio(msg["bytes"])
                    elif msg.get("text") is not None:
                        await self._on_text(msg["text"])
                except BadMessage as exc:
                    self._error(ErrorCode.BAD_MESSAGE, str(exc))
        except WebSocketDisconnect:
            pass
        finally:
            await self._close()

    # --- outgoing ---------------------------------------------------------------------------------
    def _send(self, obj: dict[str, Any]) -> None:
        if self.sender is not None:
            self.sender.send_json(obj)

    def _error(self, code: str, message: str, turn_id: str = "") -> None:
        self._send(ErrorEvent(turn_id=turn_id, code=code, message=message, recoverable=True).to_dict())

    def _on_event(self, ev: Event) -> None:
        self._send(ev.to_dict())

    # --- the agent --------------------------------------------------------------------------------
    def _start(self, *, session_id: str | None = None, listen: bool = True,
               report_playback: bool = False) -> None:
        assert self.sender is not None
        rate = self.engines.settings.tts.sample_rate
        output: AudioOutput
        if self.desktop is not None:
            output = self.desktop.speaker
        else:
            output = self.output = BrowserOutput(self.sender, rate, reports_playback=report_playback)
        self.agent = VoiceAgent(self.engines, output, session_id=session_id, listen=listen)
        self._unsubscribe = self.agent.subscribe(self._on_event)
        self._send({"type": "ready", "session_id": self.agent.session_id, "sample_rate": rate,
                    "listen": self.agent.listener is not None,
                    "audio": "desktop" if self.desktop is not None else "browser",
                    "devices": self.desktop.devices() if self.desktop is not None else {},
                    **self._settings_view()})
        self._send({"type": "state", "turn_id": "", "t": 0, "state": self.agent.state})
        if listen and self.engines.stt_error:  # say at once why the microphone will not be heard
            self._warned_no_stt = True
            self._error(ErrorCode.STT_FAIL, f"speech recognition is off, typing still works: {self.engines.stt_error}")

    def _ensure_agent(self) -> VoiceAgent:
        if self.agent is None:
            self._start()
        assert self.agent is not None
        return self.agent

    def _settings_view(self) -> dict[str, Any]:
        agent = self.agent
        engines = agent.engines if agent else self.engines
        return {"streaming": (agent.settings if agent else self.engines.settings).streaming,
                "tts_chain": voice_names(engines), "voices": voice_names(self.engines)}

    def _apply_settings(self, msg: dict[str, Any]) -> None:
        agent = self._ensure_agent()
        streaming = _field(msg, "streaming", bool, "true or false")
        chain = _field(msg, "tts_chain", list, "a list of voice names")
        if chain is not None:
            agent.engines = dataclasses.replace(self.engines, tts=self._session_voice(chain))
        if streaming is not None:
            agent.settings = agent.settings.model_copy(update={"streaming": streaming})

    def _session_voice(self, chain: list[Any]) -> Any:
        """A chain of the server's already-loaded voices, in the order asked (no model loads twice)."""
        providers = getattr(self.engines.tts, "providers", None)
        names = voice_names(self.engines)
        bad = [c for c in chain if c not in names]
        if not chain or bad:
            raise BadMessage(f"tts_chain {chain!r} is not a non-empty list of this server's voices; "
                             f"choose from {names}")
        if providers is None:
            return self.engines.tts
        from realtime.tts.fallback import FallbackTTS

        by_name = {p.name: p for p in providers}
        cfg = self.engines.settings.tts
        return FallbackTTS([by_name[c] for c in dict.fromkeys(chain)], timeout_s=cfg.timeout_s,
                           cooldown_s=cfg.cooldown_s, sample_rate=cfg.sample_rate)

    # --- incoming ---------------------------------------------------------------------------------
    def _on_audio(self, data: bytes) -> None:
        if self.desktop is not None:
            raise BadMessage("binary frame on a desktop-audio session: this computer's microphone is the input "
                             "here; reconnect with hello \"audio\": \"browser\" to send the client's audio")
        if len(data) % 2:
            raise BadMessage(f"binary frame of {len(data)} bytes: mic audio must be PCM16 little-endian mono "
                             "16 kHz, an even number of bytes (2 per sample)")
        agent = self._ensure_agent()
        if agent.listener is None and not self._warned_no_stt:
            self._warned_no_stt = True
            why = self.engines.stt_error or ("this session does not listen (send hello with listen=true, and "
                                             "start the server with speech recognition)")
            self._error(ErrorCode.AUDIO_INPUT, f"mic audio is ignored: {why}")
        if len(data):
            agent.push_audio(np.frombuffer(data, dtype="<i2").astype(np.int16))

    async def _on_text(self, raw: str) -> None:
        try:
            msg = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadMessage(f"text frame is not valid JSON ({exc.msg} at {exc.pos}): send one JSON object "
                             'such as {"type": "text", "text": "hello"}') from exc
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            raise BadMessage('a text frame must be a JSON object with a "type" field, one of '
                             + ", ".join(MESSAGE_TYPES))
        kind = msg["type"]
        if kind == "hello":
            await self._on_hello(msg)
        elif kind == "text":
            text = _field(msg, "text", str, "a string")
            if not text or not text.strip():
                raise BadMessage("empty message: a 'text' message needs a non-empty \"text\" field")
            await self._ensure_agent().submit_text(text)
        elif kind == "interrupt":
            await self._ensure_agent().interrupt()
        elif kind == "playback":
            n = _field(msg, "played_samples", int, "a whole number of samples")
            if n is None or n < 0:
                raise BadMessage("a 'playback' message needs \"played_samples\": a whole number >= 0")
            epoch = _field(msg, "epoch", int, "the epoch number of the last clear")
            self._ensure_agent()
            if self.output is not None:  # a desktop session: the speaker counts what it played itself
                self.output.report(n, epoch)
        elif kind == "end_of_input":
            self._spawn(self._end_of_input(self._ensure_agent()))
        elif kind == "settings":
            self._apply_settings(msg)
            self._send({"type": "settings", **self._settings_view()})
        else:
            raise BadMessage(f"unknown message type {kind!r}: use one of {', '.join(MESSAGE_TYPES)}")

    async def _on_hello(self, msg: dict[str, Any]) -> None:
        if self.agent is not None:
            raise BadMessage("hello must be the first message of a connection: open a new connection to "
                             "change session or listening mode")
        session_id = _field(msg, "session_id", str, "a session id string")
        if session_id is not None and not self._known_session(session_id):
            raise BadMessage(f"unknown session_id {session_id[:80]!r}: pick one from the history (or leave "
                             "it out to start a new conversation)")
        listen = _field(msg, "listen", bool, "true or false")
        report = _field(msg, "report_playback", bool, "true or false")
        # check the settings before starting, so a bad hello starts nothing
        if msg.get("streaming") is not None:
            _field(msg, "streaming", bool, "true or false")
        audio = _field(msg, "audio", str, " or ".join(repr(m) for m in AUDIO_MODES)) or "browser"
        if audio not in AUDIO_MODES:
            raise BadMessage(f"'audio' in a 'hello' message must be one of {AUDIO_MODES}, got {audio[:40]!r}")
        if audio == "desktop":
            await self._open_desktop(listen=True if listen is None else listen)
        self._start(session_id=session_id, listen=True if listen is None else listen,
                    report_playback=bool(report))
        if session_id is not None:  # a continued conversation: show the page what was said so far
            rows = self.engines.history.recent(session_id, HISTORY_SENT)
            self._send({"type": "history", "messages": [
                {k: r.get(k) for k in ("role", "content", "interrupted", "heard", "turn_id")} for r in rows
                if r.get("role") in ("user", "assistant")]})
        if msg.get("streaming") is not None or msg.get("tts_chain") is not None:
            self._apply_settings(msg)
            self._send({"type": "settings", **self._settings_view()})

    async def _open_desktop(self, *, listen: bool) -> None:
        """Take this computer's mic and speaker for this session; on failure say why and stay in browser mode."""
        other = self.desktop_slot.claim(self)
        if other is not None:
            sid = other.agent.session_id[:8] if other.agent is not None else "(starting)"
            self._error(ErrorCode.AUDIO_INPUT, f"this computer's microphone and speaker are in use by session "
                        f"{sid} (another tab or page): switch that one to 'Audio: this browser' or close it, "
                        "then choose 'this computer' again; this session uses the browser's audio")
            return
        settings = self.engines.settings
        desktop = DesktopAudio(settings.audio, settings.tts.sample_rate, self._desktop_frame, self._desktop_error)
        try:
            await desktop.open(listen=listen and self.engines.stt is not None)
        except DesktopAudioError as exc:
            self.desktop_slot.release(self)
            self._error(exc.code, f"{exc}; this session uses the browser's audio instead")
            return
        self.desktop = desktop

    def _desktop_frame(self, pcm: np.ndarray) -> None:
        if self.agent is not None and not self._closing:
            self.agent.push_audio(pcm)

    def _desktop_error(self, ev: Event) -> None:
        if self.agent is not None:
            self.agent.emit(ev)
        else:
            self._on_event(ev)

    def _known_session(self, session_id: str) -> bool:
        return any(row.get("id") == session_id for row in self.engines.history.sessions(limit=100_000))

    async def _end_of_input(self, agent: VoiceAgent) -> None:
        await agent.end_of_input()
        self._send({"type": "input_ended"})

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        if self.desktop is not None and self.desktop.mic is not None:
            with contextlib.suppress(Exception):
                await self.desktop.mic.stop()  # no more frames into the closing agent
        if self.agent is not None:
            with contextlib.suppress(Exception):
                await self.agent.aclose()
        if self.desktop is not None:
            with contextlib.suppress(Exception):
                await self.desktop.close()
            self.desktop = None
        self.desktop_slot.release(self)
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.sender is not None:
            await self.sender.aclose()


async def health_report(engines: Engines, sessions: int) -> dict[str, Any]:
    """Each component's state, with the fix where one is failing."""
    comps: dict[str, dict[str, Any]] = {}
    comps["stt"] = ({"ok": True, "detail": "loaded"} if engines.stt is not None
                    else {"ok": False, "detail": engines.stt_error
                          or "not loaded: the server was started without listening"})
    statuses = getattr(engines.tts, "statuses", None)
    if callable(statuses):
        voices = [{"name": s.name, "ok": s.ok, "detail": s.detail, "fix": s.fix} for s in statuses()]
        comps["tts"] = {"ok": any(v["ok"] for v in voices), "voices": voices}
    else:
        st = await engines.tts.probe()
        comps["tts"] = {"ok": st.ok, "detail": st.detail, "fix": st.fix}
    try:
        ok, detail, fix = await engines.assistant.chat.status()
    except Exception as exc:
        ok, detail, fix = False, f"{type(exc).__name__}: {exc}", ""
    comps["ollama"] = {"ok": ok, "detail": detail, "fix": fix}
    comps["tools"] = {"ok": engines.tools is not None,
                      "detail": "MCP tools connected" if engines.tools is not None else "no tools"}
    required = ("tts", "ollama")
    return {"ok": all(comps[k]["ok"] for k in required), "components": comps, "sessions": sessions}


def create_api(engines: Engines) -> FastAPI:
    """The FastAPI app: /health, /ws and the page's client files under /client."""
    app = FastAPI(title="Local voice assistant", docs_url=None, redoc_url=None)
    active: set[WsSession] = set()
    desktop_slot = DesktopSlot()  # this computer's mic and speaker: one /ws session at a time
    app.state.engines = engines
    app.state.sessions = active
    app.state.desktop_slot = desktop_slot

    @app.get("/health")
    async def health() -> JSONResponse:
        report = await health_report(engines, len(active))
        return JSONResponse(report, status_code=200 if report["ok"] else 503)

    @app.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket) -> None:
        session = WsSession(engines, websocket, desktop_slot)
        active.add(session)
        try:
            await session.run()
        finally:
            active.discard(session)

    app.mount(CLIENT_PATH, StaticFiles(directory=STATIC_DIR), name="client")
    return app
