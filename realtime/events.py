"""Typed pipeline events.

Every stage speaks in these frozen dataclasses; the CLI, the `/ws` API, the Gradio page, the logs and
the metrics all read the same objects, so an event type is named exactly once, here.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar


def now() -> float:
    """Wall-clock seconds; comparable across processes (the CLI, the browser, the benchmark)."""
    return time.time()


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event: which turn it belongs to and when it happened."""

    type: ClassVar[str] = "event"
    turn_id: str
    t: float = field(default_factory=now)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: `type`, `turn_id`, `t` and the public fields (private `_x` ones are left out)."""
        out: dict[str, Any] = {"type": self.type, "turn_id": self.turn_id, "t": round(self.t, 4)}
        for f in dataclasses.fields(self):
            if f.name in ("turn_id", "t") or f.name.startswith("_") or not f.repr:
                continue
            out[f.name] = getattr(self, f.name)
        return out


@dataclass(frozen=True, kw_only=True)
class StateChanged(Event):
    """The assistant's visible state: listening, thinking, speaking (or idle when nothing listens)."""

    type: ClassVar[str] = "state"
    state: str


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
    content: str = field(default="", repr=False)


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
    audio: Any = field(default=None, repr=False, compare=False)


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


@dataclass(frozen=True, kw_only=True)
class TurnDone(Event):
    type: ClassVar[str] = "turn_done"
    text: str = ""
    interrupted: bool = False


@dataclass(frozen=True, kw_only=True)
class ErrorEvent(Event):
    """A coded failure. `recoverable` says whether the conversation goes on by itself."""

    type: ClassVar[str] = "error"
    code: str
    message: str
    recoverable: bool = True


class ErrorCode:
    """The error codes clients may rely on."""

    LLM_UNAVAILABLE = "LLM_UNAVAILABLE"
    LLM_TIMEOUT = "LLM_TIMEOUT"
    LLM_MODEL_MISSING = "LLM_MODEL_MISSING"
    LLM_ERROR = "LLM_ERROR"
    TOOL_ERROR = "TOOL_ERROR"
    MCP_UNAVAILABLE = "MCP_UNAVAILABLE"
    TTS_FAIL = "TTS_FAIL"
    TTS_UNAVAILABLE = "TTS_UNAVAILABLE"
    STT_FAIL = "STT_FAIL"
    MAX_DURATION_EXCEEDED = "MAX_DURATION_EXCEEDED"
    AUDIO_INPUT = "AUDIO_INPUT"
    AUDIO_OUTPUT = "AUDIO_OUTPUT"
    BAD_MESSAGE = "BAD_MESSAGE"
    MEMORY_ERROR = "MEMORY_ERROR"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        StateChanged, SpeechStarted, SpeechEnded, PartialTranscript, FinalTranscript, LlmToken, ToolCall,
        ToolPending, ToolResult, Sentence, TtsAudio, PlaybackProgress, Interrupted, Latency, TurnDone,
        ErrorEvent,
    )
}
