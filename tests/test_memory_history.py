"""History: every message is a committed row the moment it is added, and survives a restart."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from core.memory import History


def test_wal_mode_and_each_message_committed_at_once(tmp_path: Path) -> None:
    db = tmp_path / "assistant.db"
    history = History(db)
    session = history.new_session("kitchen chat")
    history.add_message(session, "user", "Rate Inception a nine", turn_id="t1")

    # A second, independent connection (another process would see the same) reads the row right away.
    with sqlite3.connect(db) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = other.execute("SELECT role, content, turn_id FROM messages").fetchall()
    assert rows == [("user", "Rate Inception a nine", "t1")]
    history.close()


def test_interrupted_reply_keeps_what_was_heard_and_survives_reopen(tmp_path: Path) -> None:
    db = tmp_path / "assistant.db"
    history = History(db)
    session = history.new_session()
    history.add_message(session, "user", "Tell me a story", turn_id="t1")
    row_id = history.add_message(
        session,
        "assistant",
        "Once upon a time there was a fox. It lived in a wood.",
        turn_id="t1",
        interrupted=True,
        heard="Once upon a time",
    )
    assert row_id > 0
    history.close()

    reopened = History(db)
    recent = reopened.recent(session, 10)
    assert [m["role"] for m in recent] == ["user", "assistant"]
    assert recent[1]["interrupted"] is True and recent[1]["heard"] == "Once upon a time"
    assert recent[0]["interrupted"] is False and recent[0]["heard"] is None
    assert recent[1]["created_at"] >= recent[0]["created_at"]
    assert reopened.sessions()[0]["id"] == session and reopened.sessions()[0]["messages"] == 2
    reopened.close()


def test_recent_is_the_tail_oldest_first_and_sessions_are_separate(tmp_path: Path) -> None:
    history = History(tmp_path / "h.db")
    a, b = history.new_session("a"), history.new_session("b")
    for i in range(5):
        history.add_message(a, "user", f"a{i}")
    history.add_message(b, "user", "b0")
    assert [m["content"] for m in history.recent(a, 3)] == ["a2", "a3", "a4"]
    assert [m["content"] for m in history.recent(b, 3)] == ["b0"]
    assert history.recent(a, 0) == []
    assert [s["title"] for s in history.sessions()] == ["b", "a"]  # most recently used first


def test_bad_role_or_unknown_session_is_refused_with_a_reason(tmp_path: Path) -> None:
    history = History(tmp_path / "h.db")
    session = history.new_session()
    with pytest.raises(ValueError, match="role must be one of"):
        history.add_message(session, "robot", "beep")
    with pytest.raises(ValueError, match="unknown session"):
        history.add_message("nope", "user", "hi")


def test_threads_can_write_at_the_same_time(tmp_path: Path) -> None:
    history = History(tmp_path / "h.db")
    session = history.new_session()

    def write(n: int) -> None:
        for i in range(20):
            history.add_message(session, "user", f"{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(history.recent(session, 1000)) == 80
