"""Typed events: everything the pipeline says, and everything the server sends a client.

Every stage speaks in these frozen dataclasses; the CLI, the `/ws` API, the Gradio page, the logs and the
metrics all read the same objects, so a message type is named exactly once, here. A field marked `LOCAL`
(`field(metadata=LOCAL)`) rides along inside the process (samples, internal handles) and is never serialized;
an event class with `wire = False` is internal to the pipeline and never reaches a client.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

LOCAL: dict[str, bool] = {"wire": False}


def now() -> float:
    """Wall-clock seconds; comparable across processes (the CLI, the browser, the benchmark)."""
    return time.time()


class ErrorCode(StrEnum):
    """Every error code the program emits; clients may rely on these names."""

    LLM_UNAVAILABLE = "LLM_UNAVAILABLE"
    LLM_TIMEOUT = "LLM_TIMEOUT"
    LLM_MODEL_MISSING = "LLM_MODEL_MISSING"
    LLM_ERROR = "LLM_ERROR"
    LLM_STREAM_CUT = "LLM_STREAM_CUT"
    TOOL_ERROR = "TOOL_ERROR"
    MCP_UNAVAILABLE = "MCP_UNAVAILABLE"
    TTS_FAIL = "TTS_FAIL"
    TTS_UNAVAILABLE = "TTS_UNAVAILABLE"
    STT_FAIL = "STT_FAIL"
    MAX_DURATION_EXCEEDED = "MAX_DURATION_EXCEEDED"
    AUDIO_INPUT = "AUDIO_INPUT"
    AUDIO_OUTPUT = "AUDIO_OUTPUT"
    BAD_MESSAGE = "BAD_MESSAGE"
    HISTORY_UNAVAILABLE = "HISTORY_UNAVAILABLE"
    NO_SPEECH = "NO_SPEECH"
    INTERNAL = "INTERNAL"
    # the seed streaming dialect's names (gui/seed_session.py): STT_FAIL is sent there as ASR_FAIL
    ASR_FAIL = "ASR_FAIL"
    CANCELLED = "CANCELLED"
    PROTOCOL_VIOLATION = "PROTOCOL_VIOLATION"


class Phase(StrEnum):
    """Where one session's exchange stands (the seed protocol's phases), carried by `phase` events."""

    IDLE = "IDLE"  # connected, nothing captured yet
    CAPTURING = "CAPTURING"  # taking the user's audio
    THINKING = "THINKING"  # the user's words are final, the model is asked
    RESPONDING = "RESPONDING"  # the reply streams (tokens, audio)
    COMPLETE = "COMPLETE"  # the reply ended (or was cancelled)
    ERROR = "ERROR"  # the last thing that happened was an error


class State(StrEnum):
    """What the assistant is visibly doing."""

    IDLE = "idle"  # nothing listens (text only)
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event: which turn it belongs to and when it happened."""

    type: ClassVar[str] = "event"
    turn_id: str
    t: float = field(default_factory=now)

    wire: ClassVar[bool] = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: `type`, `turn_id`, `t` and every field not marked LOCAL."""
        out: dict[str, Any] = {"type": self.type, "turn_id": self.turn_id, "t": round(self.t, 4)}
        for f in dataclasses.fields(self):
            if f.name in ("turn_id", "t") or not f.metadata.get("wire", True):
                continue
            value = getattr(self, f.name)
            out[f.name] = value.value if isinstance(value, StrEnum) else value
        return out


def wire_fields(cls: type[Event]) -> list[str]:
    """The field names a client receives for an event type, in order (used by the docs test)."""
    return ["type", "turn_id", "t"] + [f.name for f in dataclasses.fields(cls)
                                        if f.name not in ("turn_id", "t") and f.metadata.get("wire", True)]


@dataclass(frozen=True, kw_only=True)
class StateChanged(Event):
    """The assistant's visible state: listening, thinking, speaking (or idle when nothing listens)."""

    type: ClassVar[str] = "state"
    state: State


@dataclass(frozen=True, kw_only=True)
class SpeechStarted(Event):
    type: ClassVar[str] = "speech_started"


@dataclass(frozen=True, kw_only=True)
class SpeechEnded(Event):
    type: ClassVar[str] = "speech_ended"
    duration_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class PartialTranscript(Event):
    """The whole text heard so far in this utterance (not a delta), stable word by word."""

    type: ClassVar[str] = "partial_transcript"
    text: str


@dataclass(frozen=True, kw_only=True)
class FinalTranscript(Event):
    """Exactly one per utterance; `id` is a uuid the history row keeps."""

    type: ClassVar[str] = "final_transcript"
    text: str
    id: str


@dataclass(frozen=True, kw_only=True)
class LlmToken(Event):
    type: ClassVar[str] = "llm_token"
    text: str
    done: bool = False


@dataclass(frozen=True, kw_only=True)
class ToolCall(Event):
    type: ClassVar[str] = "tool_call"
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ToolPending(Event):
    """A tool call has run longer than about a second: the UI shows it, the voice may acknowledge it."""

    type: ClassVar[str] = "tool_pending"
    name: str


@dataclass(frozen=True, kw_only=True)
class ToolResult(Event):
    type: ClassVar[str] = "tool_result"
    name: str
    ok: bool
    content: str = ""


@dataclass(frozen=True, kw_only=True)
class Sentence(Event):
    """A phrase handed to the voice, in speaking order."""

    type: ClassVar[str] = "sentence"
    text: str
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class TtsAudio(Event):
    """Synthesized audio for phrase `seq`; the samples ride along but are not serialized."""

    type: ClassVar[str] = "tts_audio"
    seq: int
    provider: str
    duration_s: float
    sample_rate: int = 0
    audio: Any = field(default=None, repr=False, compare=False, metadata=LOCAL)


@dataclass(frozen=True, kw_only=True)
class PlaybackProgress(Event):
    """How much of the reply has really left the speaker: the basis of 'what the user heard'."""

    type: ClassVar[str] = "playback"
    seq: int
    played_s: float
    done: bool = False


@dataclass(frozen=True, kw_only=True)
class Interrupted(Event):
    """Barge-in: the user spoke over the reply; `heard` is the part of it that was played."""

    type: ClassVar[str] = "interrupted"
    heard: str


@dataclass(frozen=True, kw_only=True)
class Latency(Event):
    """Per-turn timestamps (seconds, wall clock) and the derived intervals; one source of truth."""

    type: ClassVar[str] = "latency"
    marks: dict[str, float]
    intervals: dict[str, float]
    # the seed protocol's five stamps (wall clock, None when the turn had no such stage): t0 audio (speech onset,
    # or the request of a typed turn), t1 first partial, t2 final transcript, t3 first LLM token, t4 first audio
    t0: float | None = None
    t1: float | None = None
    t2: float | None = None
    t3: float | None = None
    t4: float | None = None
    deltas_ms: dict[str, int] = field(default_factory=dict)  # t1-t4 each from t0, in milliseconds

    def __post_init__(self) -> None:
        stamps = [self.marks.get(k) for k in SEED_MARKS]
        if stamps[0] is None:
            stamps[0] = self.marks.get("turn_start")
        for i, value in enumerate(stamps):
            if getattr(self, f"t{i}") is None and value is not None:
                object.__setattr__(self, f"t{i}", round(value, 4))
        if not self.deltas_ms and self.t0 is not None:
            object.__setattr__(self, "deltas_ms", {
                f"t{i}": round((v - self.t0) * 1000) for i, v in enumerate(stamps) if i and v is not None})


SEED_MARKS = ("speech_start", "first_partial", "final", "llm_first_token", "first_audio")


@dataclass(frozen=True, kw_only=True)
class TurnDone(Event):
    type: ClassVar[str] = "turn_done"
    text: str = ""
    interrupted: bool = False


@dataclass(frozen=True, kw_only=True)
class ErrorEvent(Event):
    """A coded failure. `recoverable` says whether the conversation goes on by itself."""

    type: ClassVar[str] = "error"
    code: ErrorCode
    message: str
    recoverable: bool = True
    error: str = ""  # the seed protocol's field: the same text as `message` unless given

    def __post_init__(self) -> None:
        if not self.error:
            object.__setattr__(self, "error", self.message)


@dataclass(frozen=True, kw_only=True)
class TurnCandidate(Event):
    """Internal: the speaker paused and what they said so far is decoded; a reply may be prepared early."""

    type: ClassVar[str] = "turn_candidate"
    wire: ClassVar[bool] = False
    text: str


@dataclass(frozen=True, kw_only=True)
class SpeechResumed(Event):
    """Internal: the speaker went on after a candidate (or the audio model heard more coming); a reply
    prepared from it is stale."""

    type: ClassVar[str] = "speech_resumed"
    wire: ClassVar[bool] = False


# --- session messages: what the server tells one client about its session -------------------------------
@dataclass(frozen=True, kw_only=True)
class Ready(Event):
    """First message of a session: who it is and how its audio flows (`devices`: desktop mic/speaker names)."""

    type: ClassVar[str] = "ready"
    session_id: str
    sample_rate: int
    listen: bool
    audio: str
    devices: dict[str, str]
    streaming: bool
    tts_chain: list[str]
    voices: list[str]


@dataclass(frozen=True, kw_only=True)
class SessionSettings(Event):
    """The session's reply mode and voice chain, after a change."""

    type: ClassVar[str] = "settings"
    streaming: bool
    tts_chain: list[str]
    voices: list[str]


@dataclass(frozen=True, kw_only=True)
class HistoryMessages(Event):
    """A continued session's stored messages: [{role, content, interrupted, heard, turn_id}]."""

    type: ClassVar[str] = "history"
    messages: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class ClearAudio(Event):
    """The reply was cut: drop all queued audio now; later playback reports carry this `epoch`."""

    type: ClassVar[str] = "clear"
    epoch: int


@dataclass(frozen=True, kw_only=True)
class HoldAudio(Event):
    """Talking over the reply: hold playback where it is (`held`), or go on from there (a cough, a "mhm").

    Sent only to a client that reports playback (the page's player); a `clear` ends a hold too.
    """

    type: ClassVar[str] = "hold"
    held: bool


@dataclass(frozen=True, kw_only=True)
class InputEnded(Event):
    """An `end_of_input` was processed and its reply has finished."""

    type: ClassVar[str] = "input_ended"


@dataclass(frozen=True, kw_only=True)
class PhaseChanged(Event):
    """The session's phase moved (both `/ws` dialects; logged at each transition)."""

    type: ClassVar[str] = "phase"
    phase: Phase


@dataclass(frozen=True, kw_only=True)
class Info(Event):
    """A notice that is not an error: backpressure started or cleared, the server shuts down, a session began."""

    type: ClassVar[str] = "info"
    message: str


@dataclass(frozen=True, kw_only=True)
class TtsChunk(Event):
    """Seed dialect: one phrase's audio as a whole WAV file, base64; `seq` counts phrases of the session from 1."""

    type: ClassVar[str] = "tts_chunk"
    seq: int
    audio_b64: str
    mime: str = "audio/wav"


@dataclass(frozen=True, kw_only=True)
class TtsPhraseDone(Event):
    """Seed dialect: every chunk of phrase `seq` has been sent."""

    type: ClassVar[str] = "tts_phrase_done"
    seq: int


@dataclass(frozen=True, kw_only=True)
class TtsComplete(Event):
    """Seed dialect: the reply's audio is all sent (after the last `llm_token` with `done`)."""

    type: ClassVar[str] = "tts_complete"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        StateChanged, SpeechStarted, SpeechEnded, PartialTranscript, FinalTranscript, LlmToken, ToolCall,
        ToolPending, ToolResult, Sentence, TtsAudio, PlaybackProgress, Interrupted, Latency, TurnDone,
        ErrorEvent, TurnCandidate, SpeechResumed, Ready, SessionSettings, HistoryMessages, ClearAudio, HoldAudio,
        InputEnded,
        PhaseChanged, Info, TtsChunk, TtsPhraseDone, TtsComplete,
    )
}
WIRE_TYPES: dict[str, type[Event]] = {name: cls for name, cls in EVENT_TYPES.items() if cls.wire}
