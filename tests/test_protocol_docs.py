"""The wire protocol has one source of truth, `base/events.py`: the README and the page's client follow it."""

from __future__ import annotations

import re
from pathlib import Path

from base.events import EVENT_TYPES, WIRE_TYPES, ErrorCode, wire_fields

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| `(?P<type>[a-z_]+)` \|(?P<fields>[^|]*)\|", re.M)


def readme_rows() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| type | fields | when |"):]
    table = table[:table.index("\n\n")]
    return {m["type"]: re.findall(r"`([a-z_0-9]+)`", m["fields"]) for m in ROW.finditer(table)}


def test_readme_event_table_matches_the_types() -> None:
    rows = readme_rows()
    assert set(rows) == set(WIRE_TYPES), "README event table and base/events.py disagree"
    for name, cls in WIRE_TYPES.items():
        assert rows[name] == wire_fields(cls)[3:], f"README row for {name!r} lists other fields"


def test_internal_events_never_reach_the_wire_table() -> None:
    internal = set(EVENT_TYPES) - set(WIRE_TYPES)
    assert internal == {"turn_candidate", "speech_resumed"}
    assert not internal & set(readme_rows())


def test_every_error_code_is_documented() -> None:
    text = (ROOT / "README.md").read_text()
    missing = [c.value for c in ErrorCode if f"`{c.value}`" not in text]
    assert not missing, f"error codes missing from the README: {missing}"


def test_page_client_handles_only_real_message_types() -> None:
    js = (ROOT / "gui" / "static" / "client.js").read_text()
    handled = set(re.findall(r'case "([a-z_]+)":', js))
    assert handled, "the client's message switch was not found"
    assert handled <= set(WIRE_TYPES), f"client.js handles unknown types: {handled - set(WIRE_TYPES)}"
    for needed in ("ready", "state", "partial_transcript", "final_transcript", "llm_token", "clear", "error",
                   "turn_done"):
        assert needed in handled


def test_local_fields_stay_off_the_wire() -> None:
    from base.events import TtsAudio

    d = TtsAudio(turn_id="t", seq=0, provider="piper", duration_s=0.1, audio=b"samples").to_dict()
    assert "audio" not in d and d["type"] == "tts_audio"
