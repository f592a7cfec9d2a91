"""The orchestrator: audio frames from any source in, typed events and reply audio out.

Transport-neutral: the desktop mic, a browser socket and a WAV file all call `push_audio`; the text box calls
`submit_text`; every consumer (CLI, Gradio page, `/ws`, logs) subscribes to the same events. Each reply is a
TurnHandle whose tasks barge-in cancels, after which the stored reply is cut to what was actually played.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

import numpy as np
import soxr

from core.metrics import intervals
from realtime.audio_out import AudioOutput
from realtime.echo import attach_echo_canceller
from realtime.engines import Engines
from realtime.events import (
    ErrorCode,
    ErrorEvent,
    Event,
    FinalTranscript,
    Interrupted,
    Latency,
    LlmToken,
    PartialTranscript,
    PlaybackProgress,
    Sentence,
    SpeechEnded,
    SpeechStarted,
    StateChanged,
    ToolCall,
    ToolPending,
    TtsAudio,
    TurnDone,
    now,
)
from realtime.listener import Listener
from realtime.sentences import SentenceSplitter, speakable
from realtime.tts.base import TtsError
from realtime.turn import TurnHandle

log = logging.getLogger(__name__)

SPOKEN_ERRORS = {
    ErrorCode.LLM_UNAVAILABLE: "Sorry, I can't reach my language model. Is Ollama running?",
    ErrorCode.LLM_TIMEOUT: "Sorry, my language model took too long to answer.",
    ErrorCode.LLM_MODEL_MISSING: "Sorry, my language model isn't installed in Ollama yet.",
    ErrorCode.LLM_ERROR: "Sorry, something went wrong while I was thinking.",
}
POLL_S = 0.02
SLOW_TOOL_PHRASE = "One moment."


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
        self.listener: Listener | None = None
        if listen and engines.stt is not None:
            s = self.settings
            self.listener = Listener(engines.new_vad(), engines.stt, s.vad, s.stt, self._on_listener_event)
        # the policy this session really uses: echo_cancel falls back where it cannot work (see realtime.echo)
        self.barge_policy, self.echo, self._echo_detach = attach_echo_canceller(
            self.settings.barge_in.policy if self.listener is not None else "headset", output)
        self.current: TurnHandle | None = None
        self._utterances: dict[str, dict[str, float]] = {}
        self._barge_task: asyncio.Task[None] | None = None
        self.state = ""
        self._set_state("listening" if self.listener else "idle", "")
        if self.listener is not None and self.settings.vad.preemptive_ms:
            self.listener.on_candidate = self._on_candidate
            self.listener.on_resume = self._on_resume

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

    def _set_state(self, state: str, turn_id: str) -> None:
        if state != self.state:
            self.state = state
            self.emit(StateChanged(turn_id=turn_id, state=state))

    # --- inputs ----------------------------------------------------------------------------------
    def push_audio(self, pcm16k: np.ndarray) -> None:
        """16 kHz mono int16 from any source; call on the event-loop thread."""
        if self.listener is not None:
            if self.echo is not None:
                pcm16k = self.echo.near(pcm16k)
            self.listener.push(pcm16k)

    async def end_of_input(self) -> None:
        """A finite source ended: finalize what was said and let its reply finish."""
        if self.listener is not None:
            await self.listener.flush()
        # the final transcript may have started a turn only just now
        await asyncio.sleep(0)
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
        if not h.confirmed.is_set():
            await self._discard(h)
            return
        played = self.output.played_samples() - h.marks_base
        self.output.clear()
        await h.cancel_and_wait()
        heard = h.heard_text(max(0, played))
        self._finish(h, interrupted=True, heard=heard)

    async def wait_idle(self) -> None:
        """Return once no reply is in progress."""
        while self.current is not None:
            await asyncio.sleep(POLL_S)

    async def aclose(self) -> None:
        await self.interrupt()
        if self._echo_detach is not None:
            self._echo_detach()
        if self.listener is not None:
            await self.listener.aclose()

    # --- listening -------------------------------------------------------------------------------
    def _on_listener_event(self, ev: Event) -> None:
        self.emit(ev)
        marks = self._utterances.setdefault(ev.turn_id, {})
        if isinstance(ev, SpeechStarted):
            marks.setdefault("speech_start", ev.t)
            if self.current is not None and self.state == "speaking":
                self._confirm_barge_in()
        elif isinstance(ev, PartialTranscript):
            marks.setdefault("first_partial", ev.t)
        elif isinstance(ev, SpeechEnded):
            marks.setdefault("speech_end", ev.t)
        elif isinstance(ev, FinalTranscript):
            marks.setdefault("final", ev.t)
            h, text = self.current, ev.text.strip()
            if h is not None and h.turn_id == ev.turn_id and not h.confirmed.is_set() and h.user_text == text:
                self._confirm(h)
            elif text:
                asyncio.get_running_loop().create_task(self._start_turn(ev.turn_id, text))

    # --- preemptive replies ----------------------------------------------------------------------
    def _on_candidate(self, turn_id: str, text: str) -> None:
        """The user paused and what they said is decoded: start thinking now, play only if the turn ends."""
        if self.current is None:
            asyncio.get_running_loop().create_task(self._start_turn(turn_id, text, preemptive=True))

    def _on_resume(self, turn_id: str) -> None:
        h = self.current
        if h is not None and h.turn_id == turn_id and not h.confirmed.is_set():
            asyncio.get_running_loop().create_task(self._discard(h))

    def _confirm(self, h: TurnHandle) -> None:
        """The final transcript is the one the reply was prepared for: show it, store it, play it."""
        h.marks.update(self._utterances.pop(h.turn_id, {}))
        self.engines.assistant.record_user(self.session_id, h.turn_id, h.user_text)
        h.confirmed.set()
        if self.state != "speaking":
            self._set_state("thinking", h.turn_id)
        held, h.held = h.held, []
        for ev in held:
            self.emit(ev)

    async def _discard(self, h: TurnHandle) -> None:
        """Drop a preemptive reply without a trace: nothing of it was shown, played or stored."""
        await h.cancel_and_wait()
        h.finished = True
        if self.current is h:
            self.current = None

    def _turn_emit(self, h: TurnHandle, ev: Event) -> None:
        if h.confirmed.is_set():
            self.emit(ev)
        else:
            h.held.append(ev)

    def _confirm_barge_in(self) -> None:
        """Interrupt once the overlapping speech has lasted barge_in.min_speech_ms (a cough does not count)."""
        if self.barge_policy == "ignore_while_speaking":
            return
        if self._barge_task is not None and not self._barge_task.done():
            return
        wait_s = max(0.0, (self.settings.barge_in.min_speech_ms - self.settings.vad.min_speech_ms) / 1000)

        async def confirm() -> None:
            await asyncio.sleep(wait_s)
            if self.listener is not None and self.listener.in_speech and self.state == "speaking":
                await self.interrupt()

        self._barge_task = asyncio.get_running_loop().create_task(confirm())

    # --- a reply turn ----------------------------------------------------------------------------
    async def _start_turn(self, turn_id: str, text: str, *, preemptive: bool = False) -> None:
        if self.current is not None:
            await self.interrupt()
        h = TurnHandle(turn_id=turn_id, user_text=text)
        if not preemptive:
            h.confirmed.set()
        h.marks.update(self._utterances.get(turn_id, {}) if preemptive else self._utterances.pop(turn_id, {}))
        h.mark("turn_start")
        h.marks_base = self.output.played_samples()
        self.current = h
        h.spawn(self._run_turn(h), "turn")

    async def _run_turn(self, h: TurnHandle) -> None:
        if h.confirmed.is_set():
            self._set_state("thinking", h.turn_id)
        phrases: asyncio.Queue[str | None] = asyncio.Queue(maxsize=32)
        streaming = self.settings.streaming
        try:
            await asyncio.gather(self._think(h, phrases, streaming), self._speak(h, phrases, streaming))
            await self._wait_played(h)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in one turn must not end the session
            log.exception("turn %s failed", h.turn_id)
            self.emit(ErrorEvent(turn_id=h.turn_id, code="INTERNAL", message=str(exc), recoverable=True))
        self._finish(h, interrupted=False, heard=None)

    async def _think(self, h: TurnHandle, phrases: asyncio.Queue[str | None], streaming: bool) -> None:
        splitter = SentenceSplitter()
        error_code = ""
        acknowledged = False
        try:
            preemptive = None if h.confirmed.is_set() else h.confirmed
            async for ev in self.engines.assistant.reply(self.session_id, h.turn_id, h.user_text,
                                                         confirmed=preemptive):
                self._turn_emit(h, ev)
                if isinstance(ev, LlmToken) and ev.text:
                    h.mark("llm_first_token")
                    h.reply_text += ev.text
                    if streaming:
                        for p in splitter.push(ev.text):
                            await phrases.put(p)
                elif isinstance(ev, ToolCall) and streaming:
                    for p in splitter.flush():  # what was said before the tool call is spoken now
                        await phrases.put(p)
                elif isinstance(ev, ToolPending) and streaming and not acknowledged:
                    acknowledged = True  # a slow tool: say so once, briefly, instead of going quiet
                    await phrases.put(SLOW_TOOL_PHRASE)
                elif isinstance(ev, ErrorEvent) and ev.code in SPOKEN_ERRORS:
                    error_code = ev.code
            rest = splitter.flush() if streaming else [p for p in _split_all(h.reply_text)]
            if error_code and not h.reply_text.strip():
                rest.append(SPOKEN_ERRORS[error_code])
            for p in rest:
                await phrases.put(p)
        finally:
            with contextlib.suppress(asyncio.QueueFull):
                phrases.put_nowait(None)

    async def _speak(self, h: TurnHandle, phrases: asyncio.Queue[str | None], streaming: bool) -> None:
        seq = 0
        held: list[tuple[int, str, np.ndarray]] = []  # classic mode: whole audio first, then play
        while (phrase := await phrases.get()) is not None:
            text = speakable(phrase).strip()
            if not text:
                continue
            h.mark("first_phrase")
            self._turn_emit(h, Sentence(turn_id=h.turn_id, text=text, seq=seq))
            audio = await self._synthesize(h, text, seq)
            if audio is not None:
                if streaming:
                    await h.confirmed.wait()  # a preemptive reply is prepared, not played, until confirmed
                    self._play(h, seq, text, audio)
                else:
                    held.append((seq, text, audio))
            seq += 1
        if held:
            await h.confirmed.wait()
        for s, text, audio in held:
            self._play(h, s, text, audio)

    async def _synthesize(self, h: TurnHandle, text: str, seq: int) -> np.ndarray | None:
        try:
            speech = await self.engines.tts.synthesize(text, reply_id=h.turn_id)
        except TtsError as exc:
            self._turn_emit(h, ErrorEvent(turn_id=h.turn_id, code=ErrorCode.TTS_UNAVAILABLE, message=str(exc)))
            return None
        for provider, reason in speech.failures:
            self._turn_emit(h, ErrorEvent(turn_id=h.turn_id, code=ErrorCode.TTS_FAIL, message=f"{provider}: {reason}"))
        audio = np.asarray(speech.audio, dtype=np.int16).reshape(-1)
        if speech.sample_rate != self.output.sample_rate:
            audio = soxr.resample(audio, speech.sample_rate, self.output.sample_rate)
        h.mark("first_audio")
        self._turn_emit(h, TtsAudio(turn_id=h.turn_id, seq=seq, provider=speech.provider,
                           duration_s=round(len(audio) / self.output.sample_rate, 3),
                           sample_rate=self.output.sample_rate, audio=audio))
        return audio

    def _play(self, h: TurnHandle, seq: int, text: str, audio: np.ndarray) -> None:
        h.add_phrase(seq, text, len(audio))
        self.output.enqueue(audio, seq)
        if self.state != "speaking":
            self._set_state("speaking", h.turn_id)
            if self.listener is not None and self.barge_policy == "ignore_while_speaking":
                self.listener.muted = True
        if not any(t.get_name().startswith("playback") for t in h._tasks):
            h.spawn(self._watch_playback(h), "playback")

    async def _watch_playback(self, h: TurnHandle) -> None:
        """Turn the output's played-sample count into marks and per-phrase progress events."""
        reported = 0
        while True:
            played = self.output.played_samples() - h.marks_base
            if played > 0:
                h.mark("first_played")
            while reported < len(h.phrases) and played >= h.phrases[reported].start_sample + h.phrases[
                    reported].n_samples:
                p = h.phrases[reported]
                self.emit(PlaybackProgress(turn_id=h.turn_id, seq=p.seq, done=True,
                                           played_s=round(played / self.output.sample_rate, 3)))
                reported += 1
            h.played = played
            await asyncio.sleep(POLL_S)

    async def _wait_played(self, h: TurnHandle) -> None:
        if not h.phrases:
            return
        await self.output.wait_done()
        limit = now() + h.queued_samples / self.output.sample_rate + 5.0
        while self.output.played_samples() - h.marks_base < h.queued_samples and now() < limit:
            await asyncio.sleep(POLL_S)
        await asyncio.sleep(POLL_S * 2)  # let the watcher report the last phrase

    def _finish(self, h: TurnHandle, *, interrupted: bool, heard: str | None) -> None:
        """Exactly once per turn: store the reply (cut to what was heard), emit the closing events."""
        if h.finished:
            return
        h.finished = True
        h.mark("done")
        for t in h._tasks:
            if t.get_name().startswith("playback") and not t.done():
                t.cancel()
        self.engines.assistant.record_reply(
            self.session_id, h.turn_id, h.reply_text, interrupted=interrupted, heard=heard)
        if interrupted:
            self.emit(Interrupted(turn_id=h.turn_id, heard=heard or ""))
        self.emit(Latency(turn_id=h.turn_id, marks={k: round(v, 4) for k, v in h.marks.items()},
                          intervals=intervals(h.marks)))
        self.emit(TurnDone(turn_id=h.turn_id, text=h.reply_text, interrupted=interrupted))
        if self.current is h:
            self.current = None
        if self.listener is not None:
            self.listener.muted = False
        self._set_state("listening" if self.listener else "idle", h.turn_id)


def _split_all(text: str) -> list[str]:
    """Classic mode: the finished reply cut into sentences by the same splitter."""
    splitter = SentenceSplitter()
    return splitter.push(text) + splitter.flush()
