"""Bounds on everything a `/ws` client sends, checked before a message reaches the pipeline.

A client may be a buggy program or a hostile one; either way a message must end in a clear `BAD_MESSAGE` (or,
for a flood of them, a close with a reason), never in a crash, a stack overflow or memory that keeps growing:

- frame size: binary and text frames above `gui.max_message_bytes` are closed by the server itself (uvicorn's
  `ws_max_size`, close code 1009); text frames above what the longest allowed message needs are refused here;
- JSON: no NaN/Infinity, no integers of thousands of digits, nesting at most `MAX_JSON_DEPTH` deep;
- a typed message is at most `gui.max_text_chars` characters: a longer one is refused, not cut, because a cut
  question gets a wrong answer (the error says the limit and how to change it);
- session ids, message types, voice names and numbers have a format and a range;
- `MAX_BAD_IN_A_ROW` malformed messages in a row close the connection (code 1008), so a client that never reads
  cannot make the server queue error replies forever.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from core.config import GuiConfig

MAX_JSON_DEPTH = 8  # the protocol needs 2 (an object holding a list of strings)
MAX_TYPE_CHARS = 32
MAX_CHAIN = 8  # voices in a tts_chain
MAX_VOICE_CHARS = 32
MAX_SAMPLES = 2**31 - 1  # played_samples and epoch: 12 hours at 48 kHz
MAX_BAD_IN_A_ROW = 50
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
BYTES_PER_CHAR = 6  # the worst case of a JSON-escaped character (\uXXXX)
FRAME_OVERHEAD = 1024  # the JSON around the text


class BadMessage(ValueError):
    """A client message we cannot use; the text names the problem and the fix."""


class TooManyBadMessages(BadMessage):
    """The client keeps sending what it was told is wrong: the connection is closed."""


@dataclass
class WireLimits:
    """The limits of one connection, and its count of malformed messages in a row."""

    max_frame_bytes: int
    max_text_chars: int
    bad_in_a_row: int = 0

    @classmethod
    def from_config(cls, gui: GuiConfig) -> WireLimits:
        return cls(max_frame_bytes=gui.max_message_bytes, max_text_chars=gui.max_text_chars)

    @property
    def max_text_frame(self) -> int:
        return min(self.max_frame_bytes, self.max_text_chars * BYTES_PER_CHAR + FRAME_OVERHEAD)

    def good(self) -> None:
        self.bad_in_a_row = 0

    def bad(self) -> None:
        """Count one malformed message; raise TooManyBadMessages when the client will not stop."""
        self.bad_in_a_row += 1
        if self.bad_in_a_row >= MAX_BAD_IN_A_ROW:
            raise TooManyBadMessages(f"{MAX_BAD_IN_A_ROW} malformed messages in a row: fix the client "
                                     "(each error said what was wrong) and reconnect")


def check_audio(data: bytes, limits: WireLimits) -> None:
    """A binary frame: bounded (even if the server in front did not bound it)."""
    if len(data) > limits.max_frame_bytes:
        raise BadMessage(f"binary frame of {len(data)} bytes is over the limit of {limits.max_frame_bytes} "
                         "bytes (gui.max_message_bytes): send mic audio in frames of 30-60 ms")


def _reject_constant(name: str) -> Any:
    raise BadMessage(f"{name} is not a JSON number this API accepts: send a finite number")


def _depth(obj: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_JSON_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


def parse_message(raw: str, limits: WireLimits, types: tuple[str, ...]) -> dict[str, Any]:
    """A text frame -> a message dict whose known fields are in range; BadMessage otherwise."""
    if len(raw) > limits.max_text_frame:
        raise BadMessage(f"text frame of {len(raw)} characters is over the limit of {limits.max_text_frame}: "
                         f"a typed message may hold at most {limits.max_text_chars} characters "
                         "(gui.max_text_chars)")
    try:
        msg = json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadMessage(f"text frame is not valid JSON ({exc.msg} at {exc.pos}): send one JSON object "
                         'such as {"type": "text", "text": "hello"}') from exc
    except RecursionError as exc:
        raise BadMessage(f"JSON nested too deep: at most {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise BadMessage(f"text frame holds a value this API cannot use ({str(exc)[:80]})") from exc
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise BadMessage('a text frame must be a JSON object with a "type" field, one of ' + ", ".join(types))
    if _depth(msg) > MAX_JSON_DEPTH:
        raise BadMessage(f"JSON nested too deep: at most {MAX_JSON_DEPTH} levels")
    if len(msg["type"]) > MAX_TYPE_CHARS:
        raise BadMessage(f"unknown message type of {len(msg['type'])} characters: use one of {', '.join(types)}")
    check_fields(msg, limits)
    return msg


def check_fields(msg: dict[str, Any], limits: WireLimits) -> None:
    """Format and range of the fields whose meaning does not depend on the session's state."""
    text = msg.get("text")
    if msg["type"] == "text" and isinstance(text, str) and len(text) > limits.max_text_chars:
        raise BadMessage(f"message of {len(text)} characters is over the limit of {limits.max_text_chars}: "
                         "send it in shorter parts, or raise gui.max_text_chars in config/config.yaml")
    sid = msg.get("session_id")
    if isinstance(sid, str) and not SESSION_ID.fullmatch(sid):
        raise BadMessage(f"session_id {sid[:40]!r} is not a session id: 1-64 letters, digits, '-' or '_' "
                         "(take one from a 'ready' message or the history)")
    for name in ("played_samples", "epoch"):
        n = msg.get(name)
        if isinstance(n, int) and not isinstance(n, bool) and not 0 <= n <= MAX_SAMPLES:
            raise BadMessage(f"'{name}' = {str(n)[:24]} is out of range: a whole number from 0 to {MAX_SAMPLES}")
    chain = msg.get("tts_chain")
    if isinstance(chain, list) and (len(chain) > MAX_CHAIN or not all(
            isinstance(c, str) and 0 < len(c) <= MAX_VOICE_CHARS for c in chain)):
        raise BadMessage(f"'tts_chain' must be a list of at most {MAX_CHAIN} voice names (strings)")
    for name in ("audio",):
        value = msg.get(name)
        if isinstance(value, str) and len(value) > MAX_TYPE_CHARS:
            raise BadMessage(f"'{name}' of {len(value)} characters: use 'browser' or 'desktop'")
