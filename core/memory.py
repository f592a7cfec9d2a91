"""Conversation history: sessions and their messages in SQLite, owned by the assistant process.

Each message is its own committed row, written the moment the turn produces it, so a crash or a power cut
loses at most the message being spoken. WAL mode lets the GUI or a user's sqlite browser read while the
assistant writes. An interrupted reply keeps both the full text (`content`) and what the user actually heard
before barging in (`heard`), because the next turn must reason from what was said, not what was planned.
Long-term facts live elsewhere: the MCP server's vector memory (see mcp_server/vector_memory.py).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

ROLES = ("system", "user", "assistant", "tool")
BUSY_TIMEOUT_S = 2.0  # a locked database costs a retry by the writer (core.history_writer), never a frozen loop


class HistoryStore(Protocol):
    """What the assistant needs of the history (History implements it; tests use an in-memory one)."""

    def add_message(
        self, session_id: str, role: str, content: str, *, turn_id: str | None = None,
        interrupted: bool = False, heard: str | None = None,
    ) -> int: ...

    def recent(self, session_id: str, limit: int) -> list[dict[str, Any]]: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class History:
    def __init__(self, db_path: Path) -> None:
        db_path = Path(db_path)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the assistant's threads; the lock serialises use of it.
        self._conn = sqlite3.connect(db_path, check_same_thread=False, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        self._lock = threading.Lock()
        self.db = sqlite_utils.Database(self._conn)
        self.db.enable_wal()
        with self._lock:
            self.db.executescript(
                """
                CREATE TABLE IF NOT EXISTS sessions (
                    id TEXT PRIMARY KEY, title TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS messages (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    session_id TEXT NOT NULL REFERENCES sessions(id), turn_id TEXT,
                    role TEXT NOT NULL, content TEXT NOT NULL, interrupted INTEGER NOT NULL DEFAULT 0,
                    heard TEXT, created_at TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS messages_session ON messages(session_id, id);
                """
            )

    def new_session(self, title: str | None = None) -> str:
        session_id = uuid.uuid4().hex
        stamp = _now()
        with self._lock:
            self.db.table("sessions").insert(
                {"id": session_id, "title": title, "created_at": stamp, "updated_at": stamp}
            )
        return session_id

    def add_message(
        self,
        session_id: str,
        role: str,
        content: str,
        *,
        turn_id: str | None = None,
        interrupted: bool = False,
        heard: str | None = None,
    ) -> int:
        """Append one message and commit it at once; returns its row id."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        stamp = _now()
        with self._lock:
            if not list(self.db.query("SELECT 1 FROM sessions WHERE id = ?", [session_id])):
                raise ValueError(f"unknown session {session_id!r}: create it with new_session() first")
            with self._conn:  # BEGIN ... COMMIT around both writes
                self._conn.execute("BEGIN")
                cur = self._conn.execute(
                    "INSERT INTO messages (session_id, turn_id, role, content, interrupted, heard,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (session_id, turn_id, role, content, int(interrupted), heard, stamp),
                )
                self._conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (stamp, session_id))
        return int(cur.lastrowid or 0)

    def recent(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        """The last `limit` messages of a session, oldest first."""
        if limit <= 0:
            return []
        with self._lock:
            rows = list(
                self.db.query(
                    "SELECT role, content, interrupted, heard, turn_id, created_at FROM messages "
                    "WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                    [session_id, limit],
                )
            )
        rows.reverse()
        for row in rows:
            row["interrupted"] = bool(row["interrupted"])
        return rows

    def sessions(self, limit: int = 50) -> list[dict[str, Any]]:
        """Most recently used sessions first, with their message counts."""
        with self._lock:
            return list(
                self.db.query(
                    "SELECT s.id, s.title, s.created_at, s.updated_at, "
                    "(SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id) AS messages "
                    "FROM sessions s ORDER BY s.updated_at DESC, s.rowid DESC LIMIT ?",
                    [limit],
                )
            )

    def session(self, session_id: str) -> dict[str, Any] | None:
        """One session's row with its message count, or None when there is no such session."""
        with self._lock:
            rows = list(self.db.query(
                "SELECT s.id, s.title, s.created_at, s.updated_at, "
                "(SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id) AS messages "
                "FROM sessions s WHERE s.id = ?", [session_id]))
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
