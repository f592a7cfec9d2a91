"""What a session's logs say, from the agent's own events: phases, one latency line per turn, each error.

Both `/ws` dialects subscribe a `SessionObserver` to their VoiceAgent, so the lines are the same whichever
client is connected. The speech recognizer's real-time factor is the latest final decode's, read from the
decode queue every session shares (Whisper's cost is mostly fixed, so the factor says more about the machine
than about the utterance; it is what to watch when recognition feels slow).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from base.events import (
    ErrorCode,
    ErrorEvent,
    Event,
    FinalTranscript,
    Latency,
    LlmToken,
    Phase,
    PhaseChanged,
    SpeechStarted,
    State,
    StateChanged,
    TtsAudio,
    TurnDone,
)
from realtime.decoding import DecodeScheduler

log = logging.getLogger("assistant.session")


class PhaseTracker:
    """The seed protocol's phase, followed from the pipeline's events; each transition is logged and sent."""

    def __init__(self, send: Callable[[PhaseChanged], None]) -> None:
        self._send = send
        self.phase = Phase.IDLE
        self.session_id = ""

    def set(self, phase: Phase, turn_id: str = "") -> None:
        if phase == self.phase:
            return
        log.info("phase %s -> %s", self.phase.value, phase.value, extra={
            "event": "phase", "session": self.session_id, "turn": turn_id or None,
            "fields": {"phase": phase.value, "previous": self.phase.value}})
        self.phase = phase
        self._send(PhaseChanged(turn_id=turn_id, phase=phase))

    def on_event(self, ev: Event) -> None:
        if isinstance(ev, SpeechStarted):
            self.set(Phase.CAPTURING, ev.turn_id)
        elif isinstance(ev, FinalTranscript) or (isinstance(ev, StateChanged) and ev.state == State.THINKING):
            self.set(Phase.THINKING, ev.turn_id)
        elif (isinstance(ev, LlmToken) and ev.text) or isinstance(ev, TtsAudio):
            self.set(Phase.RESPONDING, ev.turn_id)
        elif isinstance(ev, ErrorEvent):
            self.set(Phase.COMPLETE if ev.code == ErrorCode.CANCELLED else Phase.ERROR, ev.turn_id)
        elif isinstance(ev, TurnDone):
            self.set(Phase.COMPLETE, ev.turn_id)


class SessionObserver:
    """Logs a session's turns: one `latency` line per turn (t0-t4, deltas, the recognizer's RTF), one per error."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.session_id = ""
        self.decoder: DecodeScheduler | None = None  # the shared decode queue: the latest final decode's RTF

    def on_event(self, ev: Event) -> None:
        if isinstance(ev, Latency):
            rtf = self.decoder.last_final_rtf if self.decoder is not None and "final" in ev.marks else None
            fields = {"t0": ev.t0, "t1": ev.t1, "t2": ev.t2, "t3": ev.t3, "t4": ev.t4, "deltas_ms": ev.deltas_ms,
                      "intervals_ms": {k: round(v * 1000) for k, v in ev.intervals.items()}, "stt_rtf": rtf,
                      "dialect": self.dialect}
            shown = " ".join(f"{k}={v}ms" for k, v in ev.deltas_ms.items())
            log.info("latency %s%s", shown or "(no stages)", f" stt_rtf={rtf}" if rtf is not None else "",
                     extra={"event": "latency", "session": self.session_id, "turn": ev.turn_id or None,
                            "fields": fields})
        elif isinstance(ev, ErrorEvent):
            log.warning("error %s: %s", ev.code.value, ev.message, extra={
                "event": "error", "session": self.session_id, "turn": ev.turn_id or None,
                "fields": {"code": ev.code.value, "recoverable": ev.recoverable, "dialect": self.dialect}})
