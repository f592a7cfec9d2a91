"""One reply turn and its handle: the tasks it owns, what it has said, and what the user actually heard.

Barge-in cancels the handle (never a global flag), so a stale phrase from an old turn cannot race a new one:
every stage checks the handle it was given, and `cancel_and_wait` returns only when the turn's tasks are gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from realtime.events import now


@dataclass
class SpokenPhrase:
    """A phrase queued for playback and where its samples sit in the turn's audio stream."""

    seq: int
    text: str
    start_sample: int
    n_samples: int


@dataclass
class TurnHandle:
    """Owns a turn's asyncio tasks and the bookkeeping needed to cut the reply to what was heard."""

    turn_id: str
    user_text: str = ""
    marks: dict[str, float] = field(default_factory=dict)
    reply_text: str = ""
    phrases: list[SpokenPhrase] = field(default_factory=list)
    queued_samples: int = 0
    cancelled: bool = False
    finished: bool = False
    marks_base: int = 0  # output.played_samples() when the turn began
    played: int = 0
    # A preemptive turn starts before the user's turn has surely ended: its events wait in `held` and its
    # audio is not played until `confirmed` is set (the final transcript matched); otherwise it is dropped.
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    held: list[Any] = field(default_factory=list)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"{name}:{self.turn_id[:8]}")
        self._tasks.append(task)
        return task

    def mark(self, name: str, t: float | None = None) -> None:
        """Record a timestamp once (the first occurrence is the one latency is measured from)."""
        self.marks.setdefault(name, now() if t is None else t)

    def add_phrase(self, seq: int, text: str, n_samples: int) -> None:
        self.phrases.append(SpokenPhrase(seq, text, self.queued_samples, n_samples))
        self.queued_samples += n_samples

    def heard_text(self, played_samples: int) -> str:
        """The reply as far as the listener heard it: whole phrases, plus the played share of the current one."""
        out: list[str] = []
        for p in self.phrases:
            if played_samples >= p.start_sample + p.n_samples:
                out.append(p.text)
            elif played_samples > p.start_sample and p.n_samples:
                words = p.text.split()
                share = (played_samples - p.start_sample) / p.n_samples
                cut = int(len(words) * share)
                if cut:
                    out.append(" ".join(words[:cut]) + "…")
                break
            else:
                break
        return " ".join(out)

    async def cancel_and_wait(self) -> None:
        """Cancel every task of the turn and wait until each one has really stopped."""
        self.cancelled = True
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current and not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    @property
    def done(self) -> bool:
        return all(t.done() for t in self._tasks)
