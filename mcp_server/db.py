"""The tools' SQLite database (movies, music, projects) through sqlite-utils, and helpers the tools share.

MCPServer runs synchronous tools in worker threads, and a sqlite3 connection belongs to the thread that made
it, so each tool call opens its own short-lived connection (cheap for SQLite) inside `ToolsDB.connect()`.
WAL mode lets a reader (e.g. a user's own sqlite browser) look while the assistant writes. All SQL below is
parameterised; names given by the model are only ever values, never SQL text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

F = TypeVar("F", bound=Callable[..., Any])

SCHEMA = """
CREATE TABLE IF NOT EXISTS movies (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, title_key TEXT NOT NULL, year INTEGER, genre TEXT,
    rating REAL, added_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS movies_title_key ON movies(title_key);
CREATE TABLE IF NOT EXISTS artists (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE,
    liked INTEGER NOT NULL DEFAULT 0, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, title_key TEXT NOT NULL,
    artist_id INTEGER NOT NULL REFERENCES artists(id), album TEXT, liked INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL, UNIQUE(title_key, artist_id));
CREATE TABLE IF NOT EXISTS playlists (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS playlist_tracks (
    playlist_id INTEGER NOT NULL REFERENCES playlists(id), track_id INTEGER NOT NULL REFERENCES tracks(id),
    position INTEGER NOT NULL, PRIMARY KEY (playlist_id, track_id));
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
    due TEXT, notes TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL REFERENCES projects(id), title TEXT NOT NULL,
    title_key TEXT NOT NULL, status TEXT NOT NULL, due TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_project ON tasks(project_id);
"""


class ToolsDB:
    """Owns the database file; `connect()` gives one connection for one tool call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.enable_wal()
            db.executescript(SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite_utils.Database]:
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            db = sqlite_utils.Database(conn)
            with conn:  # one transaction per tool call: committed on success, rolled back on error
                yield db
        finally:
            conn.close()


def tool(server: MCPServer) -> Callable[[F], F]:
    """Register a tool whose description is its docstring on one line (MCP clients show it verbatim)."""

    def register(fn: F) -> F:
        return server.tool(description=" ".join((fn.__doc__ or fn.__name__).split()))(fn)

    return register


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def key(text: str) -> str:
    """Case- and space-insensitive lookup key, so "the matrix " finds "The Matrix"."""
    return " ".join(text.casefold().split())


def clean(text: str | None, field: str, *, required: bool = True, max_len: int = 200) -> str | None:
    """Trim a text argument and reject empty or absurdly long ones with a message the model can act on."""
    if text is None:
        if required:
            raise ToolError(f"{field} is required")
        return None
    value = " ".join(str(text).split())
    if not value:
        if required:
            raise ToolError(f"{field} must not be empty")
        return None
    if len(value) > max_len:
        raise ToolError(f"{field} is too long ({len(value)} characters, at most {max_len})")
    return value


def iso_date(value: str | None, field: str = "due") -> str | None:
    """Validate a YYYY-MM-DD date; the error tells the model today's date so it can work out 'next Friday'."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return date.fromisoformat(text).isoformat() if len(text) == 10 else _bad_date(text, field)
    except ValueError:
        return _bad_date(text, field)


def _bad_date(text: str, field: str) -> str:
    raise ToolError(
        f"{field} must be a calendar date written YYYY-MM-DD, got {text!r}. "
        f"Today is {date.today().isoformat()}; "
        "work out the date and call the tool again."
    )


def fmt_number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
