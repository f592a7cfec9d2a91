"""Log output: readable text for a person at a terminal, or one JSON object a line for a log pipeline.

`log_format: json` makes every record a line with `level`, `ts`, `logger`, `message`, and, where the record
belongs to a conversation, `session` and `turn`, plus `event` ("latency", "error", "phase", ...) and that
event's own fields, so `jq 'select(.event == "latency")'` is all a latency dashboard needs.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

CONTEXT = ("session", "turn", "event")  # the `extra=` keys every conversation record may carry
FIELDS = "fields"  # extra={"fields": {...}}: the event's own data, flattened into the JSON line


class JsonFormatter(logging.Formatter):
    """One JSON object per record; never raises on a value JSON cannot hold (it becomes a string)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with the session and turn (first 8 characters) when the record has them."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [f"{k}={str(v)[:8]}" for k in ("session", "turn") if (v := getattr(record, k, None))]
        return f"{line} [{' '.join(ids)}]" if ids else line


def configure_logging(level: str, fmt: str, stream: TextIO | None = None) -> None:
    """Install one handler on the root logger (replacing any), in the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
