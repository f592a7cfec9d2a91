"""One reply turn and its handle, in the spirit of livekit's `SpeechHandle`.

A `TurnHandle` owns the turn's tasks (an exception in one becomes an `INTERNAL` error, never a lost task), its
one store of timestamps, what it has said and what the user actually heard. `interrupt()` asks for the reply
to stop, `wait_for_playout()` returns once the turn is over, whichever way it ended. Barge-in cancels the
handle (never a global flag), so a stale phrase from an old turn cannot race a new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from base.events import Event, now

log = logging.getLogger(__name__)

ErrorSink = Callable[[BaseException, str], None]


RECANCEL_S = 0.5  # a task still running this long after its cancel is cancelled again (see cancel_all)


class OwnedTasks:
    """Every task someone starts, kept: its failure is reported, and `cancel_all` really stops them all."""

    def __init__(self, on_error: ErrorSink) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_error = on_error

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("task %s failed", task.get_name(), exc_info=exc)
            self._on_error(exc, task.get_name())

    def __len__(self) -> int:
        return len(self._tasks)

    async def cancel_all(self) -> None:
        """Cancel every task but the caller's own, and wait until each has really stopped.

        A task can outlive its cancel: an await that swallows it (Python 3.11's `asyncio.wait_for`, when the
        inner call ends at the same moment) hands the task a result instead, and it goes on to its next wait.
        So each task still running after `RECANCEL_S` is cancelled again, rather than waited on forever.
        """
        current = asyncio.current_task()
        pending = {t for t in self._tasks if t is not current and not t.done()}
        while pending:
            for t in pending:
                t.cancel()
            _, pending = await asyncio.wait(pending, timeout=RECANCEL_S)


# what a reply marks (the listener's marks of the same turn stay when a prepared reply is dropped)
REPLY_MARKS = ("turn_start", "llm_first_token", "first_phrase", "first_audio", "first_played", "done")


class MarkBook:
    """Timestamps per utterance/turn id, in one place, bounded: noise that never became a turn ages out."""

    def __init__(self, keep: int = 64) -> None:
        self._marks: OrderedDict[str, dict[str, float]] = OrderedDict()
        self.keep = keep

    def of(self, turn_id: str) -> dict[str, float]:
        """The live dict of a turn's marks (shared with its handle)."""
        marks = self._marks.setdefault(turn_id, {})
        self._marks.move_to_end(turn_id)
        while len(self._marks) > self.keep:
            self._marks.popitem(last=False)
        return marks

    def mark(self, turn_id: str, name: str, t: float) -> None:
        """Record a timestamp once: the first occurrence is the one latency is measured from."""
        self.of(turn_id).setdefault(name, t)

    def __len__(self) -> int:
        return len(self._marks)


@dataclass
class SpokenPhrase:
    """A phrase queued for playback and where its samples sit in the turn's audio stream."""

    seq: int
    text: str
    start_sample: int
    n_samples: int

    @property
    def end_sample(self) -> int:
        return self.start_sample + self.n_samples


class TurnHandle:
    """A reply in progress. Preemptive turns start before the user has surely finished: their events wait in
    `held` and their audio is not played until `confirmed` is set (the final transcript matched)."""

    def __init__(self, turn_id: str, user_text: str, marks: dict[str, float], *, preemptive: bool = False,
                 on_error: ErrorSink, on_interrupt: Callable[[TurnHandle], None]) -> None:
        self.turn_id = turn_id
        self.user_text = user_text
        self.marks = marks
        self.reply_text = ""
        self.phrases: list[SpokenPhrase] = []
        self.queued_samples = 0
        self.played_base = 0  # the output's played count when this turn's audio began
        self.cancelled = False
        self.interrupted = False
        self.broken = False  # the model's reply broke off (stored as interrupted: the next turn must know)
        self.confirmed = asyncio.Event()
        if not preemptive:
            self.confirmed.set()
        self.held: list[Event] = []
        self.tasks = OwnedTasks(on_error)
        self._on_interrupt = on_interrupt
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def preemptive(self) -> bool:
        return not self.confirmed.is_set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        return self.tasks.spawn(coro, f"{name}:{self.turn_id[:8]}")

    def mark(self, name: str, t: float | None = None) -> None:
        """Record a timestamp once (the first occurrence is the one latency is measured from)."""
        self.marks.setdefault(name, now() if t is None else t)

    # --- life cycle ---------------------------------------------------------------------------------
    def interrupt(self) -> None:
        """Ask for this reply to stop now; `wait_for_playout()` returns once it has."""
        if not self.done and not self.cancelled:
            self._on_interrupt(self)

    async def cancel_and_wait(self) -> None:
        """Cancel every task of the turn and wait until each one has really stopped."""
        self.cancelled = True
        await self.tasks.cancel_all()

    def set_done(self) -> None:
        if not self._done.done():
            self._done.set_result(None)

    @property
    def done(self) -> bool:
        return self._done.done()

    async def wait_for_playout(self) -> None:
        """Return once the turn is over: played to the end, interrupted, discarded or failed."""
        await asyncio.shield(self._done)

    # --- what was said and heard --------------------------------------------------------------------
    def add_phrase(self, seq: int, text: str, n_samples: int) -> SpokenPhrase:
        phrase = SpokenPhrase(seq, text, self.queued_samples, n_samples)
        self.phrases.append(phrase)
        self.queued_samples += n_samples
        return phrase

    def heard_text(self, played_samples: int) -> str:
        """The reply as far as the listener heard it: whole phrases, plus the played share of the current one."""
        out: list[str] = []
        for p in self.phrases:
            if played_samples >= p.end_sample:
                out.append(p.text)
            elif played_samples > p.start_sample and p.n_samples:
                words = p.text.split()
                cut = int(len(words) * (played_samples - p.start_sample) / p.n_samples)
                if cut:
                    out.append(" ".join(words[:cut]) + "…")
                break
            else:
                break
        return " ".join(out)
