"""The seed's streaming dialect on `/ws`: `start`, binary PCM16, `stop`, `cancel`; WAV phrases as JSON.

Clients written to the streaming API of seed 001 work unchanged: after `{"type": "start", "sample_rate": N}`
they stream PCM16 LE mono at N Hz (resampled to 16 kHz by soxr's streaming resampler), `stop` finalizes what
was said and answers it, `cancel` aborts capture and reply. They receive `partial_transcript`,
`final_transcript`, `llm_token` (`done` once, last), `tts_chunk` (one WAV per phrase, base64),
`tts_phrase_done`, `tts_complete`, `error {type, error, code, message, recoverable}`, `info`, `latency`
(t0-t4) and `phase`. Only those: the native dialect's other events stay off this wire.

The conversation is the same VoiceAgent the page uses; per dialect only the error names differ: the
recognizer's STT_FAIL is sent as the seed's ASR_FAIL, and INTERNAL is not recoverable here (the seed's
matrix), so the socket is closed with 1011 after it.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import soundfile as sf
import soxr
from fastapi import WebSocket

from base.audio import LISTEN_RATE
from base.events import (
    ErrorCode,
    ErrorEvent,
    Event,
    FinalTranscript,
    Info,
    Phase,
    TtsChunk,
    TtsComplete,
    TtsPhraseDone,
    TurnDone,
)
from gui.limits import BadMessage, parse_message
from gui.session_base import INTERNAL_ERROR, ProtocolViolation, SocketSession
from gui.transport import BrowserOutput, SocketSender
from realtime.engines import Engines

log = logging.getLogger(__name__)

SEED_RATES = (8000, 16000, 22050, 44100, 48000)
SEED_MESSAGES = ("start", "stop", "cancel")
SEED_EVENTS = frozenset({"partial_transcript", "final_transcript", "llm_token", "tts_chunk", "tts_phrase_done",
                         "tts_complete", "error", "info", "latency", "phase"})
SEED_CODES = {ErrorCode.STT_FAIL: ErrorCode.ASR_FAIL}
NOT_RECOVERABLE = frozenset({ErrorCode.INTERNAL, ErrorCode.PROTOCOL_VIOLATION})


def seed_error(ev: ErrorEvent) -> ErrorEvent:
    """The same failure under the seed's name and recoverability."""
    code = SEED_CODES.get(ev.code, ev.code)
    recoverable = ev.recoverable and code not in NOT_RECOVERABLE
    if code == ev.code and recoverable == ev.recoverable:
        return ev
    return dataclasses.replace(ev, code=code, recoverable=recoverable)


def wav_bytes(pcm: np.ndarray, sample_rate: int) -> bytes:
    """One phrase as a complete WAV file (PCM16 mono), written by soundfile."""
    buf = io.BytesIO()
    sf.write(buf, np.asarray(pcm, dtype=np.int16), sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class WavOutput(BrowserOutput):
    """The seed's audio path: each phrase is one WAV in a `tts_chunk`, then its `tts_phrase_done`.

    Seed clients send no playback reports, so audio counts as heard once written to the socket. `seq` counts
    the session's phrases from 1 (it never restarts, so a client's ordered queue stays ordered across turns).
    """

    def __init__(self, sender: SocketSender, sample_rate: int, turn_of: Callable[[], str]) -> None:
        super().__init__(sender, sample_rate, reports_playback=False)
        self._turn_of = turn_of
        self.next_seq = 1

    def enqueue(self, audio: np.ndarray, seq: int) -> None:
        pcm = np.asarray(audio, dtype=np.int16).reshape(-1)
        if not len(pcm):
            return
        self._sent += len(pcm)
        n, self.next_seq = self.next_seq, self.next_seq + 1
        turn_id = self._turn_of()
        b64 = base64.b64encode(wav_bytes(pcm, self.sample_rate)).decode("ascii")
        self.sender.send_event(TtsChunk(turn_id=turn_id, seq=n, audio_b64=b64))
        self.sender.send_event(TtsPhraseDone(turn_id=turn_id, seq=n))

    def pause(self) -> bool:
        """The seed has no way to hold its client's player: the reply plays on while an overlap is weighed."""
        return False

    def clear(self) -> None:
        """The seed has no `clear` message: a cancelled reply simply sends nothing more."""
        self._sent = 0
        self._played = 0
        self._waiters.advance(0, everything=True)


class SeedSession(SocketSession):
    """One `/ws` connection in the seed's dialect (see the module docstring)."""

    dialect = "seed"

    def __init__(self, engines: Engines, ws: WebSocket) -> None:
        super().__init__(engines, ws)
        self.capturing = False
        self.sample_rate = LISTEN_RATE
        self.output: WavOutput | None = None
        self._resampler: soxr.ResampleStream | None = None
        self._heard = False
        self._told_idle_audio = False

    # --- incoming ---------------------------------------------------------------------------------
    async def on_text(self, raw: str) -> None:
        try:
            msg = parse_message(raw, self.limits, SEED_MESSAGES)  # sizes and depth bounded, as on the page's
        except BadMessage as exc:
            raise ProtocolViolation(f"{exc} (this streaming session takes "
                                    '{"type": "start" | "stop" | "cancel"})') from exc
        kind = msg.get("type")
        if kind == "start":
            self._start(msg)
        elif kind == "stop":
            self._stop()
        elif kind == "cancel":
            self.spawn(self._cancel())
        else:
            raise ProtocolViolation(f"unknown message type {kind!r}: this streaming session takes "
                                    f"{', '.join(SEED_MESSAGES)} and binary PCM16 audio after start")

    def on_bytes(self, data: bytes) -> None:
        if self.agent is None:
            raise ProtocolViolation('binary audio before start: send {"type": "start", "sample_rate": 16000} '
                                    "first, then PCM16 little-endian mono frames")
        if len(data) % 2:
            raise ProtocolViolation(f"binary frame of {len(data)} bytes: audio must be PCM16 little-endian mono, "
                                    "an even number of bytes (2 per sample)")
        if not self.capturing:
            if not self._told_idle_audio:
                self._told_idle_audio = True
                self.send(Info(turn_id="", message="audio after stop or cancel is ignored: send start to speak "
                                                   "again"))
            return
        pcm = np.frombuffer(data, dtype="<i2").astype(np.int16)
        self._push(pcm)

    def _push(self, pcm: np.ndarray, last: bool = False) -> None:
        if self._resampler is not None:
            pcm = self._resampler.resample_chunk(pcm, last=last)
        if len(pcm) and self.agent is not None:
            self.agent.push_audio(np.asarray(pcm, dtype=np.int16))

    def _start(self, msg: dict[str, Any]) -> None:
        rate = msg.get("sample_rate", LISTEN_RATE)
        if isinstance(rate, bool) or not isinstance(rate, int) or rate not in SEED_RATES:
            raise ProtocolViolation(f"sample_rate {rate!r} is not supported: use one of "
                                    f"{', '.join(map(str, SEED_RATES))} (PCM16 mono)")
        if self.capturing:
            self.send(Info(turn_id="", message=f"already capturing at {self.sample_rate} Hz"))
            return
        if self.agent is None:
            self._open_agent(None)
        self.sample_rate = rate
        self._resampler = soxr.ResampleStream(rate, LISTEN_RATE, 1, dtype="int16") if rate != LISTEN_RATE else None
        self.capturing, self._heard, self._told_idle_audio = True, False, False
        self.phases.set(Phase.CAPTURING)
        if self.engines.stt is None:
            self.error(ErrorCode.STT_FAIL, f"speech recognition is off, audio cannot be transcribed: "
                       f"{self.engines.stt_error or 'the server runs without it'}")
            return
        self.send(Info(turn_id="", message=f"capturing at {rate} Hz: send PCM16 mono frames, then stop or cancel"))

    def _open_agent(self, session_id: str | None) -> None:
        if self.output is None:
            assert self.sender is not None
            self.output = WavOutput(self.sender, self.engines.settings.tts.sample_rate, self._turn_id)
        self.new_agent(self.output, session_id=session_id, listen=True)

    def _turn_id(self) -> str:
        h = self.agent.current if self.agent is not None else None
        return h.turn_id if h is not None else ""

    def _stop(self) -> None:
        """End of input: what was said is finalized and answered; the session then waits for a new start."""
        if self.agent is None:
            raise ProtocolViolation('stop before start: send {"type": "start", "sample_rate": 16000} first')
        if self.capturing and self._resampler is not None:
            self._push(np.zeros(0, dtype=np.int16), last=True)  # the resampler's tail
        self.capturing = False
        self.spawn(self._finish_input())

    async def _finish_input(self) -> None:
        assert self.agent is not None
        await self.agent.end_of_input()
        if not self._heard:
            self.send(Info(turn_id="", message="stop: no speech was heard, so there is nothing to answer"))
        self.phases.set(Phase.COMPLETE)

    async def _cancel(self) -> None:
        """Abort capture and reply: nothing more of them is sent, and the reply is not written to memory."""
        self.capturing = False
        old = self.agent
        turn_id = ""
        if old is not None:
            self.detach_agent()  # from here on the cancelled capture and reply say nothing
            if old.current is not None:
                turn_id = old.current.turn_id
                self.engines.assistant.discard_reply(turn_id)
            if old.listener is not None:
                await old.listener.aclose()  # a final still decoding is dropped, not answered
            await old.aclose()
            if old.current is not None:  # a turn that started while closing
                self.engines.assistant.discard_reply(old.current.turn_id)
                await old.interrupt()
            self._open_agent(old.session_id)  # the conversation goes on with the next start
        self.error(ErrorCode.CANCELLED, "cancelled by the client: capture and reply stopped; nothing of the reply "
                   "was stored", turn_id, recoverable=True)

    # --- outgoing ---------------------------------------------------------------------------------
    def on_agent_event(self, ev: Event) -> None:
        if isinstance(ev, FinalTranscript):
            self._heard = True
        if isinstance(ev, TurnDone) and not ev.interrupted:
            self.send(TtsComplete(turn_id=ev.turn_id))
            return
        if ev.type not in SEED_EVENTS or not ev.wire:
            return
        if isinstance(ev, ErrorEvent):
            ev = seed_error(ev)
            self.send(ev)
            if not ev.recoverable and not self._closing:
                self._closing = True
                self.spawn(self.close_socket(INTERNAL_ERROR))
            return
        self.send(ev)
