"""History that is never lost silently: writes leave the event loop, keep their order and survive an outage.

SQLite can be locked by another process or the disk can fill up. A write made on the event loop would freeze
every session for the busy timeout, and a failed write would drop the row. Here every row goes into an
in-memory queue (returning at once) and one worker writes the queue in order in a thread; a failure is
retried with a growing pause, the sessions concerned are told once per outage (so the user sees why), and the
rows stay queued until the database takes them. Reads for a turn's context add the rows not yet written, so
the conversation goes on as if nothing happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from base.status import ComponentStatus
from core.memory import HistoryStore

log = logging.getLogger(__name__)

RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # pause after the 1st, 2nd, ... failed attempt (the last one repeats)
MAX_PENDING = 10_000  # rows held in memory during an outage; past it the oldest unsaved rows are dropped, loudly

FailureSink = Callable[[str, str], None]  # (session_id, message for the user)


@dataclass
class PendingRow:
    session_id: str
    role: str
    content: str
    turn_id: str | None = None
    interrupted: bool = False
    heard: str | None = None
    attempts: int = field(default=0, compare=False)

    def as_message(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content, "interrupted": self.interrupted, "heard": self.heard,
                "turn_id": self.turn_id, "created_at": None}


class HistoryWriter:
    """One ordered, retrying writer per History, shared by every session of the process."""

    def __init__(self, history: HistoryStore, *, retry_s: tuple[float, ...] = RETRY_S) -> None:
        self.history = history
        self.retry_s = retry_s
        self._pending: deque[PendingRow] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._sinks: dict[str, FailureSink] = {}
        self._told: set[str] = set()  # sessions told about the current outage
        self.last_error = ""
        self.dropped = 0

    # --- the sessions' side: never blocks ----------------------------------------------------------
    def watch(self, session_id: str, on_failure: FailureSink) -> Callable[[], None]:
        """Tell `on_failure` when a row of this session cannot be saved; returns the function that stops it."""
        self._sinks[session_id] = on_failure

        def stop() -> None:
            self._sinks.pop(session_id, None)

        return stop

    def append(self, session_id: str, role: str, content: str, *, turn_id: str | None = None,
               interrupted: bool = False, heard: str | None = None) -> None:
        """Queue one message; it is written in order, off the event loop, as soon as the database takes it."""
        if len(self._pending) >= MAX_PENDING:
            lost = self._pending.popleft()
            self.dropped += 1
            log.error("history queue full (%d rows unsaved): dropped the oldest row of session %s",
                      MAX_PENDING, lost.session_id[:8])
        self._pending.append(PendingRow(session_id, role, content, turn_id, interrupted, heard))
        self._idle.clear()
        self._ensure_worker()
        self._wake.set()

    def unsaved(self, session_id: str) -> list[dict[str, Any]]:
        """Rows of a session that are queued but not yet in the database, oldest first."""
        return [r.as_message() for r in self._pending if r.session_id == session_id]

    async def recent(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        """The last `limit` messages, the unsaved ones included; read in a thread, never failing a turn."""
        try:
            saved = await asyncio.to_thread(self.history.recent, session_id, limit)
        except Exception as exc:  # a locked or broken database costs the context, not the turn
            log.warning("history read failed (%s): the turn uses what is still in memory", exc)
            saved = []
        return (saved + self.unsaved(session_id))[-limit:] if limit > 0 else []

    @property
    def pending(self) -> int:
        return len(self._pending)

    def status(self) -> ComponentStatus:
        if not self._pending:
            return ComponentStatus("history", True, "all messages saved")
        return ComponentStatus("history", False, f"{len(self._pending)} message(s) waiting to be saved: "
                               f"{self.last_error}", "free disk space or close the program holding the "
                               "database (data/assistant.db); saving resumes by itself")

    # --- the worker ------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="history-writer")

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            row = self._pending[0]
            try:
                await asyncio.to_thread(self.history.add_message, row.session_id, row.role, row.content,
                                        turn_id=row.turn_id, interrupted=row.interrupted, heard=row.heard)
            except ValueError as exc:  # a row the database can never take (unknown session): say so, skip it
                log.error("history row of session %s cannot be saved: %s", row.session_id[:8], exc)
                self._pending.popleft()
                continue
            except Exception as exc:
                self._failed(row, exc)
                await asyncio.sleep(self.retry_s[min(row.attempts, len(self.retry_s)) - 1])
                continue
            self._pending.popleft()
            if row.attempts:
                log.info("history saved again after %d failed attempt(s)", row.attempts)
            if not self._pending:
                self._told.clear()
                self.last_error = ""

    def _failed(self, row: PendingRow, exc: Exception) -> None:
        row.attempts += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if row.attempts == 1:
            log.warning("history write failed (%s); retrying, %d row(s) kept in memory", exc, len(self._pending))
        sessions = {r.session_id for r in self._pending}
        for sid in sessions - self._told:
            sink = self._sinks.get(sid)
            if sink is not None and row.attempts >= 2:  # one quick retry first: a brief lock is not news
                self._told.add(sid)
                sink(sid, f"the conversation could not be saved ({exc}); it is kept in memory and saved as "
                          "soon as the database is writable again (free disk space, or close the program "
                          "holding data/assistant.db)")

    async def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every queued row is written (shutdown); False when the database still refuses."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        return not self._pending

    async def aclose(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
