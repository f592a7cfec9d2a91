"""The conductor: audio frames from any source in, typed events and reply audio out.

Transport-neutral: the desktop mic, a browser socket and a WAV file all call `push_audio`; the text box calls
`submit_text`; every consumer (CLI, Gradio page, `/ws`, logs) subscribes to the same events. The agent only
decides *when*: it routes the listener's events, starts, confirms, discards and finishes turns. How a reply is
produced is `ReplyRunner`'s business, what talking over it does is `BargeInPolicy`'s, and each reply is a
`TurnHandle` that owns its tasks. Every task the agent starts is owned: a failure becomes an `INTERNAL` error
event and the next turn still works; `aclose` cancels them all.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

import numpy as np

from base.events import (
    ErrorCode,
    ErrorEvent,
    Event,
    FinalTranscript,
    Interrupted,
    Latency,
    PartialTranscript,
    SpeechResumed,
    SpeechStarted,
    State,
    StateChanged,
    TurnCandidate,
    TurnDone,
)
from base.marks import intervals
from realtime.audio_out import AudioOutput
from realtime.barge_in import BargeInPolicy
from realtime.engines import Engines
from realtime.listener import Listener
from realtime.phrases import phrase_source
from realtime.reply import ReplyRunner
from realtime.turn import REPLY_MARKS, MarkBook, OwnedTasks, TurnHandle

log = logging.getLogger(__name__)


class VoiceAgent:
    """One conversation session over shared engines."""

    def __init__(
        self, engines: Engines, output: AudioOutput, *, session_id: str | None = None, listen: bool = True
    ) -> None:
        self.engines = engines
        self.settings = engines.settings
        self.output = output
        self.session_id = session_id or engines.history.new_session()
        self._subs: list[Callable[[Event], None]] = []
        self.tasks = OwnedTasks(self._task_failed)
        self.marks = MarkBook()
        self.listener: Listener | None = None
        if listen and engines.stt is not None:
            s = self.settings
            self.listener = Listener(engines.new_vad(), engines.stt, s.vad, s.stt, self._on_listener_event,
                                     marks=self.marks, decoder=engines.decoder, judge=engines.end_of_turn,
                                     turn_cfg=s.turn)
        self.barge_in = BargeInPolicy(self.settings, output, self.listener)
        self.barge_in.reply_text = self._reply_heard_over
        self.barge_in.notice = self._heard_itself
        self.current: TurnHandle | None = None
        self.state = State.LISTENING if self.listener else State.IDLE
        self._unwatch_history = engines.assistant.writer.watch(self.session_id, self._history_failed)

    @property
    def barge_policy(self) -> str:
        """The policy this session really uses (echo_cancel falls back where it cannot work)."""
        return self.barge_in.name

    # --- events ----------------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        """Call `fn` with every event; returns the function that unsubscribes."""
        self._subs.append(fn)
        return lambda: self._subs.remove(fn) if fn in self._subs else None

    def emit(self, ev: Event) -> None:
        for fn in list(self._subs):
            try:
                fn(ev)
            except Exception:  # a broken consumer must not break the conversation
                log.exception("event subscriber failed on %s", ev.type)

    def _set_state(self, state: State, turn_id: str) -> None:
        if state != self.state:
            self.state = state
            self.emit(StateChanged(turn_id=turn_id, state=state))

    def _task_failed(self, exc: BaseException, name: str) -> None:
        """A bug in one task must not end the session: say so, and close the turn it belonged to."""
        h = self.current
        turn_id = h.turn_id if h is not None and name.endswith(h.turn_id[:8]) else ""
        self.emit(ErrorEvent(turn_id=turn_id, code=ErrorCode.INTERNAL, recoverable=True,
                             message=f"{name.split(':')[0]} failed: {type(exc).__name__}: {exc}"))
        if turn_id and h is not None:
            self.tasks.spawn(self._abort(h), "abort")

    def _reply_heard_over(self, turn_id: str) -> str:
        """The text of the reply playing under the user's utterance `turn_id` ("" if none: a reply prepared for
        that very utterance quotes its words, but has not been played, so it cannot be its echo)."""
        h = self.current
        return h.reply_text if h is not None and h.turn_id != turn_id and not h.preemptive else ""

    def _heard_itself(self, message: str) -> None:
        h = self.current
        self.emit(ErrorEvent(turn_id=h.turn_id if h is not None else "", code=ErrorCode.AUDIO_INPUT,
                             recoverable=True, message=message))

    def _history_failed(self, session_id: str, message: str) -> None:
        h = self.current
        self.emit(ErrorEvent(turn_id=h.turn_id if h is not None else "", code=ErrorCode.HISTORY_UNAVAILABLE,
                             recoverable=True, message=message))

    async def _abort(self, h: TurnHandle) -> None:
        self.output.clear()
        await h.cancel_and_wait()
        self._finish(h, interrupted=False, heard=None)

    # --- inputs ----------------------------------------------------------------------------------
    def push_audio(self, pcm16k: np.ndarray) -> None:
        """16 kHz mono int16 from any source; call on the event-loop thread."""
        if self.listener is not None:
            self.listener.push(self.barge_in.clean(pcm16k))

    async def end_of_input(self) -> None:
        """A finite source ended: finalize what was said and let its reply finish."""
        if self.listener is not None:
            await self.listener.flush()
        await asyncio.sleep(0)  # the final transcript may have started a turn only just now
        await self.wait_idle()

    async def submit_text(self, text: str) -> str:
        """A typed message joins the same conversation; it supersedes a reply in progress."""
        text = text.strip()
        if not text:
            raise ValueError("empty message: type something to send")
        turn_id = uuid.uuid4().hex
        await self._start_turn(turn_id, text)
        return turn_id

    async def interrupt(self) -> None:
        """Stop the current reply now (barge-in, a stop button, a new message)."""
        h = self.current
        if h is None or h.cancelled:
            return
        if h.preemptive:
            await self._discard(h)
            return
        played = self.output.played_samples() - h.played_base
        self.output.clear()
        await h.cancel_and_wait()
        self._finish(h, interrupted=True, heard=h.heard_text(max(0, played)))

    async def wait_idle(self) -> None:
        """Return once no reply is in progress (turns started meanwhile are waited for too)."""
        while (h := self.current) is not None:
            await h.wait_for_playout()
            if self.current is h:  # finished without clearing (cannot happen, but never spin)
                break

    async def aclose(self) -> None:
        await self.interrupt()
        await self.tasks.cancel_all()
        self._unwatch_history()
        self.barge_in.close()
        if self.listener is not None:
            await self.listener.aclose()

    # --- listening -------------------------------------------------------------------------------
    def _on_listener_event(self, ev: Event) -> None:
        if isinstance(ev, TurnCandidate):
            if self.current is None:  # the user paused: start thinking now, play only if the turn ends
                self.tasks.spawn(self._start_turn(ev.turn_id, ev.text, preemptive=True), "preempt")
            return
        if isinstance(ev, SpeechResumed):
            h = self.current
            if h is not None and h.turn_id == ev.turn_id and h.preemptive:
                self.tasks.spawn(self._discard(h), "discard")
            return
        self.emit(ev)
        if isinstance(ev, SpeechStarted) and self.current is not None and self.state == State.SPEAKING:
            self.barge_in.user_spoke(self.tasks, lambda: self.state == State.SPEAKING, self.interrupt, ev.turn_id)
        elif isinstance(ev, PartialTranscript):
            self.barge_in.heard(ev.turn_id, ev.text, final=False)
        elif isinstance(ev, FinalTranscript):
            h, text = self.current, ev.text.strip()
            if self.barge_in.heard(ev.turn_id, text, final=True):  # "mhm" over the reply: not a turn
                if h is not None and h.turn_id == ev.turn_id and h.preemptive:
                    self.tasks.spawn(self._discard(h), "discard")
                return
            if h is not None and h.turn_id == ev.turn_id and h.preemptive and h.user_text == text:
                self._confirm(h)
            elif text:
                self.tasks.spawn(self._start_turn(ev.turn_id, text), "turn-start")

    # --- preemptive replies ----------------------------------------------------------------------
    def _confirm(self, h: TurnHandle) -> None:
        """The final transcript is the one the reply was prepared for: show it, store it, play it."""
        self.engines.assistant.record_user(self.session_id, h.turn_id, h.user_text)
        h.confirmed.set()
        if self.state != State.SPEAKING:
            self._set_state(State.THINKING, h.turn_id)
        held, h.held = h.held, []
        for ev in held:
            self.emit(ev)

    async def _discard(self, h: TurnHandle) -> None:
        """Drop a preemptive reply without a trace: nothing of it was shown, played or stored."""
        await h.cancel_and_wait()
        for name in REPLY_MARKS:  # the reply that replaces it measures its own stages
            h.marks.pop(name, None)
        h.set_done()
        if self.current is h:
            self.current = None

    def _turn_emit(self, h: TurnHandle, ev: Event) -> None:
        if h.cancelled:
            return
        if h.confirmed.is_set():
            self.emit(ev)
        else:
            h.held.append(ev)

    # --- a reply turn ----------------------------------------------------------------------------
    async def _start_turn(self, turn_id: str, text: str, *, preemptive: bool = False) -> None:
        if self.current is not None:
            await self.interrupt()
        h = TurnHandle(turn_id, text, self.marks.of(turn_id), preemptive=preemptive,
                       on_error=self._task_failed, on_interrupt=self._interrupt_handle)
        h.mark("turn_start")
        h.played_base = self.output.played_samples()
        self.current = h
        if not preemptive:  # stored before anything can interrupt it: rapid messages all keep their rows
            self.engines.assistant.record_user(self.session_id, turn_id, text)
        h.spawn(self._run_turn(h), "turn")

    def _interrupt_handle(self, h: TurnHandle) -> None:
        if self.current is h:
            self.tasks.spawn(self.interrupt(), "interrupt")

    async def _run_turn(self, h: TurnHandle) -> None:
        if not h.preemptive:
            self._set_state(State.THINKING, h.turn_id)
        knobs = self.settings.tts
        runner = ReplyRunner(h, session_id=self.session_id, assistant=self.engines.assistant,
                             tts=self.engines.tts, output=self.output,
                             source=phrase_source(self.settings.streaming, max_chars=knobs.max_phrase_chars),
                             emit=self._turn_emit, on_heard=self._speaking,
                             max_pending=knobs.max_pending_phrases, workers=knobs.workers)
        await runner.run()
        self._finish(h, interrupted=False, heard=None)

    def _speaking(self, h: TurnHandle) -> None:
        if self.state != State.SPEAKING:
            self._set_state(State.SPEAKING, h.turn_id)
            self.barge_in.speaking_started()

    def _finish(self, h: TurnHandle, *, interrupted: bool, heard: str | None) -> None:
        """Exactly once per turn: store the reply (cut to what was heard), emit the closing events."""
        if h.done:
            return
        h.interrupted = interrupted
        h.mark("done")
        if h.broken and not interrupted:  # the model broke off: stored as cut, so the next turn knows
            interrupted, heard = True, h.reply_text
        self.engines.assistant.record_reply(
            self.session_id, h.turn_id, h.reply_text, interrupted=interrupted, heard=heard)
        interrupted = h.interrupted
        if interrupted:
            self.emit(Interrupted(turn_id=h.turn_id, heard=heard or ""))
        self.emit(Latency(turn_id=h.turn_id, marks={k: round(v, 4) for k, v in h.marks.items()},
                          intervals=intervals(h.marks)))
        self.emit(TurnDone(turn_id=h.turn_id, text=h.reply_text, interrupted=interrupted))
        if self.current is h:
            self.current = None
        h.set_done()
        self.barge_in.speaking_stopped()
        self._set_state(State.LISTENING if self.listener else State.IDLE, h.turn_id)
