"""The streaming listener: audio frames in, speech/partial/final events out.

It listens the way a person does. A ring buffer keeps the last `vad.preroll_ms` of audio so the first syllable
is never cut; a turn opens only after `vad.min_speech_ms` of speech (a click does not count); partials are
decoded every `stt.partial_interval_ms` of audio (audio time, so a file fed faster than real time behaves the
same) and shown with local agreement so words do not flicker; the turn ends after `vad.silence_ms` of silence.

Whisper costs about the same for any short clip, so the listener decodes rarely and never twice at once (one
worker thread, partials skipped while it is busy, never audio). The final decode starts speculatively once the
silence has lasted part of the endpoint (with a judge: `turn.judge_after_ms`; its verdict sets the endpoint);
if no speech came back by then, that result is the final: end of speech -> final costs little more.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable

import numpy as np

from base.audio import LISTEN_RATE, Reframer, to_int16
from base.events import (
    ErrorCode,
    ErrorEvent,
    Event,
    FinalTranscript,
    PartialTranscript,
    SpeechEnded,
    SpeechResumed,
    SpeechStarted,
    now,
)
from core.config import SttConfig, TurnConfig, VadConfig
from realtime.decoding import DecodeScheduler
from realtime.end_of_turn import TurnJudge
from realtime.pauses import PauseJudging
from realtime.stt import OVERLAP_PROMPT, DecodeAborted, SpeechToText
from realtime.turn import MarkBook
from realtime.utterance import Utterance
from realtime.vad import VoiceActivity

log = logging.getLogger(__name__)

MAX_CANDIDATE_GAP_FRAMES = 2  # non-speech frames tolerated inside the speech that opens a turn
FINAL_TAIL_MS = 300  # silence kept after the last speech frame for the final decode


class Listener(PauseJudging):
    """Turns a stream of int16 16 kHz frames into turn events; see the module docstring for the policy.

    Everything it says goes through `emit`, one channel of typed events: speech started/ended, partial and
    final transcripts, errors, and (with `vad.preemptive_ms`) the internal `TurnCandidate` / `SpeechResumed`
    that let a reply be prepared before the endpoint. Timestamps go to `marks`, the store the agent's turn
    handles read too: speech_start (onset), speech_detected, first_partial, speech_end, endpoint, final.
    """

    def __init__(self, vad: VoiceActivity, stt: SpeechToText, vad_cfg: VadConfig, stt_cfg: SttConfig,
                 emit: Callable[[Event], None], *, marks: MarkBook | None = None,
                 decoder: DecodeScheduler | None = None, judge: TurnJudge | None = None,
                 turn_cfg: TurnConfig | None = None) -> None:
        self.vad, self.stt, self.vad_cfg, self.stt_cfg = vad, stt, vad_cfg, stt_cfg
        self.judge, self.turn_cfg = judge, turn_cfg or TurnConfig()  # no judge: a fixed vad.silence_ms
        self._emit_cb = emit
        self.frame_samples = vad.frame_samples
        self.frame_ms = self.frame_samples * 1000 / LISTEN_RATE
        self._preroll: deque[np.ndarray] = deque(maxlen=int(np.ceil(vad_cfg.preroll_ms / self.frame_ms)))
        self._frames = Reframer(self.frame_samples)
        self._candidate: list[np.ndarray] = []
        self._cand_speech = 0
        self._cand_gap = 0
        self._utt: Utterance | None = None
        self._own_decoder = decoder is None
        self.decoder = decoder if decoder is not None else DecodeScheduler(stt)  # shared by the sessions
        self._jobs = 0
        self._pending: set[asyncio.Future[str]] = set()
        self._last_final: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.markbook = marks if marks is not None else MarkBook()
        self.muted = False
        self._closed = False

    # ----- public surface -----
    @property
    def in_speech(self) -> bool:
        return self._utt is not None

    def speech_so_far(self) -> tuple[float, float]:
        """(seconds of speech, seconds of silence since) in the open utterance; (0, inf) when none is open."""
        u = self._utt
        return (0.0, float("inf")) if u is None else (self._speech_s(u), u.silence_frames * self.frame_ms / 1000)

    def over_reply(self, turn_id: str) -> None:
        """The open utterance began while the assistant spoke: likely a "mhm", so every decode of it is primed
        to write a hum as one (see realtime.stt.OVERLAP_PROMPT)."""
        if self._utt is not None and self._utt.turn_id == turn_id:
            self._utt.prompt = OVERLAP_PROMPT

    def mute(self) -> None:
        """Stop hearing (policy ignore_while_speaking): what is being heard is dropped, the VAD starts afresh."""
        if not self.muted:
            self.muted = True
            self._drop_open()

    def unmute(self) -> None:
        if self.muted:
            self.muted = False
            self._drop_open()

    def _drop_open(self) -> None:
        if self._utt is not None:
            self._utt.closed = True
            self._emit(SpeechEnded(turn_id=self._utt.turn_id, duration_s=self._speech_s(self._utt)))
            self._utt = None
        self._candidate, self._cand_speech, self._cand_gap = [], 0, 0
        self._preroll.clear()
        self._frames.reset()
        self.vad.reset()

    def marks(self, turn_id: str) -> dict[str, float]:
        """A copy of one utterance's wall-clock marks (see the class docstring for the names)."""
        return dict(self.markbook.of(turn_id))

    def push(self, pcm: np.ndarray) -> None:
        """Feed audio of any length (int16 mono 16 kHz). Runs the VAD inline; decoding goes to the worker."""
        if self.muted or self._closed:
            return
        for frame in self._frames.push(to_int16(pcm)):
            self._on_frame(frame)

    async def flush(self) -> None:
        """End of a finite source: finalize the open utterance and wait until every final is out."""
        if self._utt is not None:
            self._end(self._utt, "flush")
        self._candidate, self._cand_speech, self._cand_gap = [], 0, 0
        while self._last_final is not None and not self._last_final.done():
            await asyncio.shield(self._last_final)

    async def aclose(self) -> None:
        """Stop listening: pending decodes are abandoned, the worker thread is released."""
        self._closed = True
        if self._utt is not None:
            self._utt.closed = True  # a partial still decoding is not emitted after close
            self._utt = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for fut in list(self._pending):
            fut.cancel()  # a queued decode of this listener is dropped, never run
        if self._own_decoder:
            self.decoder.close()

    # ----- frames -----
    def _on_frame(self, frame: np.ndarray) -> None:
        speech = self.vad.is_speech(frame)
        if self._utt is not None:
            self._utterance_frame(self._utt, frame, speech)
            return
        if not self._candidate:
            if speech:
                self._candidate, self._cand_speech, self._cand_gap = [frame], 1, 0
            else:
                self._preroll.append(frame)
            return
        self._candidate.append(frame)
        if speech:
            self._cand_speech += 1
            self._cand_gap = 0
        else:
            self._cand_gap += 1
            if self._cand_gap > MAX_CANDIDATE_GAP_FRAMES:  # a click or a cough: back to the ring buffer
                self._preroll.extend(self._candidate)
                self._candidate, self._cand_speech = [], 0
                return
        if self._cand_speech * self.frame_ms >= self.vad_cfg.min_speech_ms:
            self._open()

    def _open(self) -> None:
        pre = list(self._preroll)
        onset = sum(len(c) for c in pre)
        chunks = pre + self._candidate
        samples = onset + sum(len(c) for c in self._candidate)
        interval = min(self.stt_cfg.first_partial_ms, self.stt_cfg.partial_interval_ms) * LISTEN_RATE // 1000
        u = Utterance(turn_id=uuid.uuid4().hex, chunks=chunks, samples=samples, onset_sample=onset,
                      last_speech_end=samples, next_partial_at=onset + interval)
        self._preroll.clear()
        self._candidate, self._cand_speech, self._cand_gap = [], 0, 0
        self._utt = u
        t_onset = now() - (samples - onset) / LISTEN_RATE
        self._mark(u.turn_id, "speech_start", t_onset)
        self._mark(u.turn_id, "speech_detected", now())
        self._emit(SpeechStarted(turn_id=u.turn_id, t=t_onset))

    def _utterance_frame(self, u: Utterance, frame: np.ndarray, speech: bool) -> None:
        u.append(frame)
        if speech:
            if u.silence_frames:
                self._resumed(u)
            u.silence_frames = 0
            u.last_speech_end = u.samples
            u.verdict = u.second_look = None
            if u.speculative is not None:  # the pause decode is stale: given up unless in Whisper's decoder
                if u.pause_job is not None:
                    self.decoder.abandon(u.pause_job)
                u.speculative = u.pause_job = None
            if u.candidate_sent:  # the speaker went on: a reply prepared from the candidate is stale
                u.candidate_sent = False
                self._emit(SpeechResumed(turn_id=u.turn_id))
        else:
            u.silence_frames += 1
        silence_ms = u.silence_frames * self.frame_ms
        if silence_ms >= self._endpoint_ms(u):
            self._end(u, "silence")
        elif u.samples >= self.vad_cfg.max_utterance_s * LISTEN_RATE:
            self._end(u, "max")
        elif speech and u.samples >= u.next_partial_at:
            self._partial(u)
        elif u.silence_frames == self._speculate_after:
            self._speculate(u)
        elif u.second_look is not None and silence_ms >= self.turn_cfg.second_look_ms:
            self._look_again(u, *u.second_look)

    # ----- decoding -----
    def _decode(self, audio: np.ndarray, final: bool, prompt: str | None = None) -> asyncio.Future[str]:
        fut = self.decoder.submit(audio, final=final, prompt=prompt)
        self._pending.add(fut)
        self._jobs += 1
        fut.add_done_callback(self._job_done)
        return fut

    def _job_done(self, fut: asyncio.Future[str]) -> None:
        self._jobs -= 1
        self._pending.discard(fut)
        _ = fut.cancelled() or fut.exception()  # retrieved so an abandoned speculative decode never warns

    def _partial(self, u: Utterance) -> None:
        if self._jobs or self.decoder.waiting:  # busy (any session): skip it, try on the next speech frame
            return
        u.next_partial_at = u.samples + self.stt_cfg.partial_interval_ms * LISTEN_RATE // 1000
        fut = self._decode(u.audio(), final=False, prompt=u.prompt)
        fut.add_done_callback(lambda f: self._partial_done(u, f))

    def _partial_done(self, u: Utterance, fut: asyncio.Future[str]) -> None:
        if u.closed or fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            if not isinstance(exc, DecodeAborted):  # given up for a pause decode: nothing to show, nothing wrong
                self._stt_failed(u, exc)
            return
        text = u.agreement.update(fut.result())
        if text and text != u.shown:
            u.shown = text
            self._mark(u.turn_id, "first_partial", now())
            self._emit(PartialTranscript(turn_id=u.turn_id, text=text))

    def _end(self, u: Utterance, reason: str) -> None:
        u.closed = True
        self._utt = None
        t_end = now() - (u.samples - u.last_speech_end) / LISTEN_RATE
        self._mark(u.turn_id, "speech_end", t_end)
        self._mark(u.turn_id, "endpoint", now())
        self._emit(SpeechEnded(turn_id=u.turn_id, t=t_end, duration_s=self._speech_s(u)))
        if reason == "max":
            self._emit(ErrorEvent(
                turn_id=u.turn_id, code=ErrorCode.MAX_DURATION_EXCEEDED, recoverable=True,
                message=f"you spoke for more than {self.vad_cfg.max_utterance_s:g} s: that part was "
                        "transcribed as one turn and listening goes on"))
        if reason == "silence":  # the trailing silence is the next turn's preroll
            self._preroll.extend(u.chunks[-(self._preroll.maxlen or 1):])
        spec = u.speculative
        if spec is not None and spec[0] >= u.last_speech_end:
            fut = spec[1]
        else:
            end = None if reason == "max" else u.last_speech_end + FINAL_TAIL_MS * LISTEN_RATE // 1000
            fut = self._decode(u.audio(end), final=True, prompt=u.prompt)
        task = asyncio.get_running_loop().create_task(self._finish(u, fut, self._last_final))
        self._last_final = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish(self, u: Utterance, fut: asyncio.Future[str], prev: asyncio.Task[None] | None) -> None:
        """Emit the final of `u` once its decode is done and every earlier final is out (order kept)."""
        try:
            text = (await fut).strip()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._stt_failed(u, exc, final=True)
            text = ""
        if prev is not None:
            await asyncio.gather(prev, return_exceptions=True)
        if text:  # empty final = noise: SpeechEnded only, so noise never opens a reply
            self._mark(u.turn_id, "final", now())
            self._emit(FinalTranscript(turn_id=u.turn_id, text=text, id=str(uuid.uuid4())))

    def _stt_failed(self, u: Utterance, exc: BaseException, final: bool = False) -> None:
        log.warning("speech to text failed: %s", exc)
        if u.stt_error_reported and not final:
            return
        u.stt_error_reported = True
        message = f"speech to text failed ({type(exc).__name__}: {exc}); still listening"
        self._emit(ErrorEvent(turn_id=u.turn_id, code=ErrorCode.STT_FAIL, recoverable=True, message=message))

    # ----- helpers -----
    def _speech_s(self, u: Utterance) -> float:
        return round(max(0, u.last_speech_end - u.onset_sample) / LISTEN_RATE, 3)

    def _mark(self, turn_id: str, name: str, t: float) -> None:
        self.markbook.mark(turn_id, name, t)

    def _emit(self, event: Event) -> None:
        try:
            self._emit_cb(event)
        except Exception:  # a broken sink must not stop the listening
            log.exception("event sink failed on %s", event.type)
