"""One reply, start to end: think (the assistant's events), speak (phrases to voices), play, follow playback.

The runner knows nothing of listening or of other turns: the agent gives it a turn handle, a phrase source
(the reply mode), the voices and the output, and two callbacks (how to emit an event for this turn, and what
to do once the turn starts to be heard). Playback is followed by awaiting the output's own progress
(`wait_played`), never by polling, so "what the user heard" and `first_played` come from the output's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import numpy as np

from base.audio import to_pcm16
from base.events import (
    ErrorCode,
    ErrorEvent,
    Event,
    LlmToken,
    PlaybackProgress,
    Sentence,
    ToolCall,
    ToolPending,
    TtsAudio,
)
from core.assistant import Assistant
from realtime.audio_out import AudioOutput
from realtime.phrases import PhraseSource
from realtime.sentences import speakable
from realtime.speech_text import to_spoken
from realtime.tts.base import TextToSpeech, TtsError
from realtime.turn import SpokenPhrase, TurnHandle

log = logging.getLogger(__name__)

SPOKEN_ERRORS = {
    ErrorCode.LLM_UNAVAILABLE: "Sorry, I can't reach my language model. Is Ollama running?",
    ErrorCode.LLM_TIMEOUT: "Sorry, my language model took too long to answer.",
    ErrorCode.LLM_MODEL_MISSING: "Sorry, my language model isn't installed in Ollama yet.",
    ErrorCode.LLM_ERROR: "Sorry, something went wrong while I was thinking.",
    ErrorCode.LLM_STREAM_CUT: "Sorry, my answer was cut off. Please ask me again.",
}
PHRASE_QUEUE = 32
PLAYOUT_GRACE_S = 5.0  # past a phrase's own length, how long a silent output may keep a turn waiting


class ReplyRunner:
    def __init__(self, h: TurnHandle, *, session_id: str, assistant: Assistant, tts: TextToSpeech,
                 output: AudioOutput, source: PhraseSource, emit: Callable[[TurnHandle, Event], None],
                 on_heard: Callable[[TurnHandle], None], max_pending: int = PHRASE_QUEUE,
                 workers: int = 1) -> None:
        self.h = h
        self.session_id = session_id
        self.assistant = assistant
        self.tts = tts
        self.output = output
        self.source = source
        self._emit = emit
        self._on_heard = on_heard
        self._playing: asyncio.Queue[SpokenPhrase | None] = asyncio.Queue()
        self._follower: asyncio.Task[None] | None = None
        self.max_pending = max_pending  # phrases cut but not yet taken by a voice: past it the model waits
        self.workers = workers  # phrases synthesized at once (voices that cannot run in parallel serialize)

    def emit(self, ev: Event) -> None:
        self._emit(self.h, ev)

    async def run(self) -> None:
        """Think and speak side by side, then wait until the last phrase has been heard."""
        phrases: asyncio.Queue[str | None] = asyncio.Queue(maxsize=self.max_pending)
        await asyncio.gather(self._think(phrases), self._speak(phrases))
        if self._follower is not None:
            self._playing.put_nowait(None)
            await self._follower

    # --- think: the assistant's events become phrases ------------------------------------------------
    async def _think(self, phrases: asyncio.Queue[str | None]) -> None:
        h, source = self.h, self.source
        error_code: ErrorCode | None = None
        try:
            async for ev in self.assistant.reply(self.session_id, h.turn_id, h.user_text, record_user=False,
                                                 confirmed=h.confirmed if h.preemptive else None):
                self.emit(ev)
                cut: list[str] = []
                if isinstance(ev, LlmToken) and ev.text:
                    h.mark("llm_first_token")
                    h.reply_text += ev.text
                    cut = source.on_token(ev.text)
                elif isinstance(ev, ToolCall):
                    cut = source.on_tool_call()
                elif isinstance(ev, ToolPending):
                    cut = source.on_tool_pending()
                elif isinstance(ev, ErrorEvent) and ev.code in SPOKEN_ERRORS:
                    error_code = ev.code
                    h.broken = ev.code == ErrorCode.LLM_STREAM_CUT
                for p in cut:
                    await phrases.put(p)
            rest = source.finish(h.reply_text)
            if error_code is not None and (h.broken or not h.reply_text.strip()):
                rest.append(SPOKEN_ERRORS[error_code])  # a voice-only user must hear why the answer stopped
            for p in rest:
                await phrases.put(p)
        finally:
            with contextlib.suppress(asyncio.QueueFull):
                phrases.put_nowait(None)

    # --- speak: phrases become audio, played in order ----------------------------------------------
    async def _speak(self, phrases: asyncio.Queue[str | None]) -> None:
        h = self.h
        seq = 0
        slots = asyncio.Semaphore(self.workers)
        order: asyncio.Queue[tuple[int, str, asyncio.Task[np.ndarray | None]] | None] = asyncio.Queue()
        player = h.spawn(self._play_in_order(order), "tts-order")
        while (phrase := await phrases.get()) is not None:
            text = speakable(phrase).strip()
            if not text:
                continue
            h.mark("first_phrase")
            self.emit(Sentence(turn_id=h.turn_id, text=text, seq=seq))
            await slots.acquire()  # one worker: each phrase waits for the one before, as a single voice must
            order.put_nowait((seq, text, h.spawn(self._synthesize_in(slots, text, seq), "tts")))
            seq += 1
        order.put_nowait(None)
        await player

    async def _synthesize_in(self, slots: asyncio.Semaphore, text: str, seq: int) -> np.ndarray | None:
        try:
            return await self._synthesize(text, seq)
        finally:
            slots.release()

    async def _play_in_order(self, order: asyncio.Queue[tuple[int, str, asyncio.Task[np.ndarray | None]] | None]
                             ) -> None:
        """Phrases play in speaking order whichever synthesis ends first; a whole-reply source waits for all."""
        held: list[tuple[int, str, np.ndarray]] = []
        while (item := await order.get()) is not None:
            s, text, task = item
            audio = await task
            if audio is not None:
                held.append((s, text, audio))
                if not self.source.whole_reply:
                    await self.h.confirmed.wait()  # a preemptive reply is prepared, not played, until confirmed
                    self._play(*held.pop())
        if held:
            await self.h.confirmed.wait()
        for s, text, audio in held:
            self._play(s, text, audio)

    async def _synthesize(self, text: str, seq: int) -> np.ndarray | None:
        h = self.h
        try:
            speech = await self.tts.synthesize(to_spoken(text) or text, reply_id=h.turn_id)
        except TtsError as exc:
            self.emit(ErrorEvent(turn_id=h.turn_id, code=ErrorCode.TTS_UNAVAILABLE, message=str(exc)))
            return None
        for provider, reason in speech.failures:
            self.emit(ErrorEvent(turn_id=h.turn_id, code=ErrorCode.TTS_FAIL, message=f"{provider}: {reason}"))
        rate = self.output.sample_rate
        audio = np.asarray(speech.audio, dtype=np.int16).reshape(-1)
        if speech.sample_rate != rate:
            audio = to_pcm16(audio, speech.sample_rate, rate)
        h.mark("first_audio")
        self.emit(TtsAudio(turn_id=h.turn_id, seq=seq, provider=speech.provider,
                           duration_s=round(len(audio) / rate, 3), sample_rate=rate, audio=audio))
        return audio

    def _play(self, seq: int, text: str, audio: np.ndarray) -> None:
        h = self.h
        phrase = h.add_phrase(seq, text, len(audio))
        self.output.enqueue(audio, seq)
        self._playing.put_nowait(phrase)
        if self._follower is None:
            self._on_heard(h)
            self._follower = h.spawn(self._follow_playback(), "playback")

    # --- follow playback: the output says when each phrase has been heard ---------------------------
    async def _follow_playback(self) -> None:
        h, out = self.h, self.output
        rate = out.sample_rate
        first = True
        while (p := await self._playing.get()) is not None:
            if first:
                await self._wait_played(h.played_base + p.start_sample + 1, p.n_samples)
                h.mark("first_played")
                first = False
            played = await self._wait_played(h.played_base + p.end_sample, p.n_samples)
            self.emit(PlaybackProgress(turn_id=h.turn_id, seq=p.seq, done=True,
                                       played_s=round((played - h.played_base) / rate, 3)))

    async def _wait_played(self, target: int, n_samples: int) -> int:
        """Bounded: an output that stops reporting (a tab closed mid-reply) must not hang the turn."""
        bound = n_samples / self.output.sample_rate + PLAYOUT_GRACE_S
        try:
            async with asyncio.timeout(bound):  # no inner task: a cancel reaches the output's future directly
                return await self.output.wait_played(target)
        except TimeoutError:
            log.warning("turn %s: playback not confirmed within %.1f s; taking it as heard", self.h.turn_id, bound)
            return target
