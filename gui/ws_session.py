"""One `/ws` connection: parses the client's messages, drives its VoiceAgent, forwards its events.

The protocol is described in `gui/api.py`; every message the server sends is a typed event from
`base.events` (`.to_dict()`), so the page, the README's table and the types cannot drift apart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Any

import numpy as np
from fastapi import WebSocket

from base.events import (
    ErrorCode,
    Event,
    HistoryMessages,
    InputEnded,
    Ready,
    SessionSettings,
    StateChanged,
)
from gui.limits import check_audio, parse_message
from gui.session_base import BadMessage, SocketSession
from gui.transport import BrowserOutput
from realtime.audio_out import AudioOutput
from realtime.desktop import DesktopAudio, DesktopAudioError, DesktopSlot
from realtime.engines import Engines
from realtime.tts.fallback import FallbackTTS
from realtime.voice_agent import VoiceAgent

__all__ = ["BadMessage", "WsSession"]

log = logging.getLogger(__name__)

HISTORY_SENT = 100  # messages of a continued session sent to the page
MESSAGE_TYPES = ("hello", "text", "interrupt", "playback", "end_of_input", "settings")
AUDIO_MODES = ("browser", "desktop")


def _field(msg: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = msg.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadMessage(f"'{name}' in a {msg['type']!r} message must be {what}, got {value!r}")
    return value


class WsSession(SocketSession):
    """One `/ws` connection in the native dialect: parses client messages, drives its VoiceAgent."""

    dialect = "native"

    def __init__(self, engines: Engines, ws: WebSocket, desktop_slot: DesktopSlot | None = None) -> None:
        super().__init__(engines, ws)
        self.desktop_slot = desktop_slot or DesktopSlot()
        self.output: BrowserOutput | None = None  # None in desktop mode: the speaker is the agent's output
        self.desktop: DesktopAudio | None = None
        self._warned_no_stt = False

    # --- outgoing ---------------------------------------------------------------------------------
    def _error(self, code: ErrorCode, message: str, turn_id: str = "") -> None:
        self.error(code, message, turn_id)

    def _on_event(self, ev: Event) -> None:
        if ev.wire:
            self.send(ev)

    def on_agent_event(self, ev: Event) -> None:
        self._on_event(ev)

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
        self.agent = self.new_agent(output, session_id=session_id, listen=listen)
        view = self._settings_view()
        self._on_event(Ready(turn_id="", session_id=self.agent.session_id, sample_rate=rate,
                             listen=self.agent.listener is not None,
                             audio="desktop" if self.desktop is not None else "browser",
                             devices=self.desktop.devices() if self.desktop is not None else {},
                             streaming=view.streaming, tts_chain=view.tts_chain, voices=view.voices))
        self._on_event(StateChanged(turn_id="", state=self.agent.state))
        if listen and self.engines.stt_error:  # say at once why the microphone will not be heard
            self._warned_no_stt = True
            self._error(ErrorCode.STT_FAIL, f"speech recognition is off, typing still works: {self.engines.stt_error}")

    def _ensure_agent(self) -> VoiceAgent:
        if self.agent is None:
            self._start()
        assert self.agent is not None
        return self.agent

    def _settings_view(self) -> SessionSettings:
        agent = self.agent
        engines = agent.engines if agent else self.engines
        return SessionSettings(turn_id="", streaming=engines.settings.streaming, tts_chain=engines.tts.names,
                               voices=self.engines.tts.names)

    def _apply_settings(self, msg: dict[str, Any]) -> None:
        agent = self._ensure_agent()
        streaming = _field(msg, "streaming", bool, "true or false")
        chain = _field(msg, "tts_chain", list, "a list of voice names")
        if chain is not None:
            agent.engines = dataclasses.replace(agent.engines, tts=self._session_voice(chain))
        if streaming is not None:
            settings = agent.settings.model_copy(update={"streaming": streaming})
            agent.engines = dataclasses.replace(agent.engines, settings=settings)
            agent.settings = settings

    def _session_voice(self, chain: list[Any]) -> FallbackTTS:
        """A chain of the server's already-loaded voices, in the order asked (no model loads twice)."""
        try:
            return self.engines.tts.subset([str(c) for c in chain])
        except ValueError as exc:
            raise BadMessage(str(exc)) from exc

    # --- incoming ---------------------------------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        check_audio(data, self.limits)
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

    async def on_text(self, raw: str) -> None:
        msg = parse_message(raw, self.limits, MESSAGE_TYPES)
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
            self.spawn(self._end_of_input(self._ensure_agent()))
        elif kind == "settings":
            self._apply_settings(msg)
            self._on_event(self._settings_view())
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
            self._on_event(HistoryMessages(turn_id="", messages=[
                {k: r.get(k) for k in ("role", "content", "interrupted", "heard", "turn_id")} for r in rows
                if r.get("role") in ("user", "assistant")]))
        if msg.get("streaming") is not None or msg.get("tts_chain") is not None:
            self._apply_settings(msg)
            self._on_event(self._settings_view())

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
            self._error(exc.code, f"{exc.problem}: {exc.fix}; this session uses the browser's audio instead")
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
        self._on_event(InputEnded(turn_id=""))

    async def close_agent(self) -> None:
        if self.desktop is not None and self.desktop.mic is not None:
            with contextlib.suppress(Exception):
                await self.desktop.mic.stop()  # no more frames into the closing agent
        await super().close_agent()
        if self.desktop is not None:
            with contextlib.suppress(Exception):
                await self.desktop.close()
            self.desktop = None
        self.desktop_slot.release(self)
