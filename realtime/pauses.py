"""How the listener treats a pause in an open utterance: decode it at once, judge it, maybe start the reply.

At `turn.judge_after_ms` of silence the utterance is decoded (primed with `PAUSE_PROMPT`, so Whisper keeps the
commas and "..." of speech that goes on). The words come first: a word cue ("milk, eggs, and") holds the turn
and a question ends it, with no audio model asked. Otherwise the reply is started on the words at once (held
back until the turn is confirmed, as every preemptive reply is) and Smart Turn hears the audio *after* the
decode, not beside it: on two cores a 2-thread Whisper and a 1-thread ONNX model side by side slowed the pause
decode from 0.12 s to 0.18-0.28 s, and the model's 50-70 ms after it cost less. If the audio says the speaker is
going on, it hears the pause once more at `turn.second_look_ms` (it was trained on ~200 ms of trailing silence,
and calls finished statements unfinished just after the last word); only if it still does is the early reply
withdrawn. A finished verdict waits `turn.doubt_silence_ms` instead if Whisper may have completed a fragment
(`_doubt`). A pause that ends a sentence is not decoded again at the next one (see `PauseJudging._sentence`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import numpy as np

from base.audio import LISTEN_RATE
from base.events import Event, SpeechResumed, TurnCandidate, now
from core.config import TurnConfig, VadConfig
from realtime.end_of_turn import TurnJudge, Verdict, doubted
from realtime.stt import PAUSE_PROMPT, EndingDoubt
from realtime.turn import MarkBook
from realtime.turn_text import unfinished_cue
from realtime.utterance import PauseDecode, Utterance

log = logging.getLogger(__name__)

SPECULATE_AT = 0.4  # without a judge: start the final decode after this share of vad.silence_ms
SURE_WORDS = 1.0  # the P given to `decide` to ask "would the words let this turn end?"
SENTENCE_ENDS = (".", "?", "!")
COMMIT_GAP_MS = 200  # a gap at least this long after a decoded sentence end is taken as one
# A shorter tail after a committed sentence end is not trusted alone to end the turn: the whole utterance is decoded
# again first. Alone, tiny.en garbles it or drops it: Piper's "I need to buy milk, eggs, and [1.2 s]" commits "I
# need to buy milk." at the comma's 0.3 s gap, and the 0.8 s of "eggs, and" came out "X, n.", "A is m" or nothing,
# so the turn ended (3 of 4 syntheses).
MIN_TAIL_S = 1.5
MAX_CONTEXT = 400  # characters of the words so far given to Whisper as context (its prompt holds 223 tokens)


def ends_sentence(text: str) -> bool:
    """Words that end a sentence and carry no cue of going on ("...", a comma, a dangling "the" do not)."""
    return text.endswith(SENTENCE_ENDS) and not text.endswith(("...", "…")) and unfinished_cue(text) is None


def joined(said: str, tail: asyncio.Future[str]) -> asyncio.Future[str]:
    """The words already said, then what `tail` decodes of the audio after them; cancelling one cancels both."""
    whole: asyncio.Future[str] = tail.get_loop().create_future()

    def done(f: asyncio.Future[str]) -> None:
        if whole.done():
            return
        if f.cancelled():
            whole.cancel()
        elif (exc := f.exception()) is not None:
            whole.set_exception(exc)
        else:
            whole.set_result(f"{said} {f.result().strip()}".strip())

    tail.add_done_callback(done)
    whole.add_done_callback(lambda w: tail.cancel() if w.cancelled() else None)
    return whole


class PauseJudging:
    """Mixed into `realtime.listener.Listener`: the pause half of its policy (see the module docstring)."""

    judge: TurnJudge | None
    stt: object
    turn_cfg: TurnConfig
    vad_cfg: VadConfig
    frame_ms: float
    markbook: MarkBook
    _utt: Utterance | None
    _tasks: set[asyncio.Task[None]]
    _decode: Callable[..., asyncio.Future[str]]
    _end: Callable[[Utterance, str], None]
    _emit: Callable[[Event], None]

    @property
    def _speculate_after(self) -> int:  # silence frames after which the final decode starts speculatively
        ms: float
        if self.judge is not None:
            ms = self.turn_cfg.judge_after_ms
        else:
            ms = self.vad_cfg.preemptive_ms or SPECULATE_AT * self.vad_cfg.silence_ms
        return max(1, round(ms / self.frame_ms))

    def _endpoint_ms(self, u: Utterance) -> int:
        """The silence that ends this turn: short once judged finished, the long limit while unfinished/unjudged."""
        if self.judge is None:
            return self.vad_cfg.silence_ms
        if u.verdict is not None and u.verdict.finished:
            return u.verdict.endpoint_ms or self.turn_cfg.finished_silence_ms
        return self.turn_cfg.unfinished_silence_ms

    def _speculate(self, u: Utterance) -> None:  # never skipped: a busy decoder would leave the pause unjudged
        at = u.samples
        audio = u.audio()
        if self.judge is None:
            fut = u.pause_job = self._decode(audio, final=True, prompt=u.prompt)
            u.speculative = (at, fut)
            fut.add_done_callback(lambda f: self._offer_candidate(u, at, f))
            return
        if u.committed is not None and u.prompt is None:  # the words up to an earlier sentence end are known
            start, said = u.committed
            job_audio, prompt = audio[start:], f"{PAUSE_PROMPT} {said[-MAX_CONTEXT:]}"
            u.pause_job = self._decode(job_audio, final=True, prompt=prompt)
            fut = joined(said, u.pause_job)
        else:
            job_audio, prompt = audio, u.prompt or PAUSE_PROMPT
            fut = u.pause_job = self._decode(job_audio, final=True, prompt=prompt)
        u.speculative = (at, fut)
        u.pause = PauseDecode(at, job_audio, prompt, u.pause_job)
        task = asyncio.get_running_loop().create_task(self._judge(self.judge, u, at, fut, audio))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sentence(self, u: Utterance, at: int, text: str, finished: bool) -> None:
        """A pause that ends a sentence (the words end one, the audio agrees) in a gap of at least
        `COMMIT_GAP_MS`: its words stand, and the next pause decodes only what came after (with them as Whisper's
        context; a tail shorter than `MIN_TAIL_S` that would end the turn is heard whole again first). A short gap
        inside a sentence ("What time [90 ms] is it?", written "What time.") is not one, nor a "sentence" the voice
        goes on from (P below the threshold: "Ask not." at P 0.03)."""
        if not finished or u.closed or u.prompt is not None or not ends_sentence(text):
            return
        if u.last_speech_end <= at:  # the gap goes on: its length decides when speech comes back
            u.sentence_end = (at, text)
        elif u.last_gap is not None and u.last_gap[0] == at and u.last_gap[1] >= COMMIT_GAP_MS:
            self._keep(u, at, text)

    def _resumed(self, u: Utterance) -> None:
        """Speech again after a gap: a sentence end decoded in it stands if the gap was long enough."""
        gap_ms = u.silence_frames * self.frame_ms
        if u.speculative is not None:
            u.last_gap = (u.speculative[0], gap_ms)
        end, u.sentence_end = u.sentence_end, None
        if end is not None and gap_ms >= COMMIT_GAP_MS:
            self._keep(u, *end)

    @staticmethod
    def _keep(u: Utterance, at: int, text: str) -> None:
        if u.committed is None or u.committed[0] < at:
            u.committed = (at, text)

    @staticmethod
    def _stale(u: Utterance, at: int) -> bool:
        return u.closed or u.last_speech_end > at

    async def _judge(self, judge: TurnJudge, u: Utterance, at: int, fut: asyncio.Future[str],
                     audio: np.ndarray) -> None:
        """At a pause: the pause transcript, then the audio model where it can still change the verdict. Once
        the speaker has gone on, only a sentence end is still worth judging (see `_sentence`)."""
        try:
            text = (await asyncio.shield(fut)).strip()
        except Exception:
            return  # reported when the final is taken from it
        if not text or u.closed or (self._stale(u, at) and not ends_sentence(text)):
            return
        p: float | None = None
        words_end_it = False
        if judge.needs_audio(text):
            words_end_it = judge.decide(SURE_WORDS, text).finished
            if not self._stale(u, at) and words_end_it:  # think now; may be withdrawn
                self._offer_candidate(u, at, fut)
            p = await self._p_finished(judge, audio)
        verdict = await self._verdict(judge, u, at, p, text, audio)
        if verdict is None:
            return
        self._sentence(u, at, text, verdict.finished and not verdict.held_longer)
        if self._stale(u, at):
            return
        second = not verdict.finished or verdict.held_longer  # the audio may still end it at the short silence
        if second and p is not None and words_end_it and self.turn_cfg.second_look_ms:
            u.verdict, u.second_look = verdict, (at, text)  # the early reply stands until the audio's second look
            if u.silence_frames * self.frame_ms >= self.turn_cfg.second_look_ms:
                self._look_again(u, at, text)
            return
        self._settle(u, at, verdict)

    async def _verdict(self, judge: TurnJudge, u: Utterance, at: int, p: float | None, text: str,
                       audio: np.ndarray) -> Verdict | None:
        """The judge's verdict on this pause, a finished one checked for a made-up ending (`_doubt`); None when a
        short tail would end the turn and the whole utterance is decoded and judged instead (`_judge_whole`)."""
        verdict = judge.decide(p, text)
        if verdict.finished and self._short_tail(u, at) and not self._stale(u, at):
            await self._judge_whole(judge, u, at, text, audio)
            return None
        return await self._doubt(u, at, verdict) if verdict.finished else verdict

    @staticmethod
    def _short_tail(u: Utterance, at: int) -> bool:
        """This pause's decode heard only a tail shorter than `MIN_TAIL_S` after a committed sentence end."""
        pause = u.pause
        return (pause is not None and pause.at == at and pause.prompt != PAUSE_PROMPT and u.prompt is None
                and len(pause.audio) / LISTEN_RATE < MIN_TAIL_S)

    async def _judge_whole(self, judge: TurnJudge, u: Utterance, at: int, tail_text: str, audio: np.ndarray) -> None:
        """A short tail would end the turn: the whole utterance is decoded and judged instead. A reply started on
        the tail's words is withdrawn if the whole reads otherwise (the verdict then offers the new words)."""
        fut = u.pause_job = self._decode(audio, final=True, prompt=PAUSE_PROMPT)
        u.speculative = (at, fut)
        u.pause = PauseDecode(at, audio, PAUSE_PROMPT, fut)
        try:
            text = (await asyncio.shield(fut)).strip()
        except Exception:
            return
        log.debug("a short tail read %r; the whole utterance %r", tail_text, text)
        if text != tail_text:
            self._withdraw(u)
        await self._judge(judge, u, at, fut, audio)

    async def _doubt(self, u: Utterance, at: int, verdict: Verdict) -> Verdict:
        """A finished verdict stands unless Whisper may have completed a fragment ("about the" written "about
        that?", "Set a timer for" written "...for it.": `realtime.stt_doubt`); that is asked once per pause, with
        the reply already being prepared."""
        stt, pause = self.stt, u.pause
        if not isinstance(stt, EndingDoubt) or pause is None or pause.at != at or self._stale(u, at):
            return verdict
        if u.speculative is not None and u.speculative[0] == at:
            self._offer_candidate(u, at, u.speculative[1])
        if pause.doubt is None:
            try:
                pause.doubt = await asyncio.to_thread(stt.ending_doubt, pause.audio, pause.job.result().strip(),
                                                      pause.prompt)
            except Exception as exc:  # the verdict stands: a failed check must not hold the turn
                log.warning("the ending's doubt failed: %s", exc)
                return verdict
            log.debug("ending %r: doubt %.3f", verdict.text, pause.doubt)
        return doubted(verdict, pause.doubt, self.turn_cfg)

    def _look_again(self, u: Utterance, at: int, text: str) -> None:
        """The words end the turn and the audio model did not agree at `judge_after_ms`: it hears the pause again
        at `turn.second_look_ms` of silence. Smart Turn was trained on audio that goes on ~200 ms past the last
        word (pipecat's VAD stop): Piper's "...twenty minutes before." is P 0.02 at 0-100 ms and 0.97 at 300."""
        u.second_look = None
        judge, audio = self.judge, u.audio()
        if judge is None:
            return

        async def look() -> None:
            verdict = await self._verdict(judge, u, at, await self._p_finished(judge, audio), text, audio)
            if verdict is not None and not self._stale(u, at):
                self._settle(u, at, verdict)

        task = asyncio.get_running_loop().create_task(look())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _p_finished(judge: TurnJudge, audio: np.ndarray) -> float | None:
        try:
            return await asyncio.to_thread(judge.p_finished, audio)
        except Exception as exc:  # a broken model must not stop the listening: the words decide alone
            log.warning("end-of-turn audio model failed: %s", exc)
            return None

    def _settle(self, u: Utterance, at: int, verdict: Verdict) -> None:
        """The verdict on the current pause: a finished one starts the reply (if not yet) and ends the turn once
        `turn.finished_silence_ms` (or the verdict's own endpoint) has passed; an unfinished one withdraws a reply
        started on the words."""
        u.verdict = verdict
        log.debug("pause judged %s (P %s, words' P %s, cue %s): %r", "finished" if verdict.finished else
                  "unfinished", verdict.p_audio, verdict.p_text, verdict.cue, verdict.text)
        if not verdict.finished:
            self._withdraw(u)
            return
        self.markbook.of(u.turn_id)["turn_judged"] = now()  # the decision that ends the turn: the last pause's
        if u.speculative is not None:  # `_offer_candidate` checks it is still this pause's decode
            self._offer_candidate(u, at, u.speculative[1])
        if u.silence_frames * self.frame_ms >= self._endpoint_ms(u) and self._utt is u:
            self._end(u, "silence")

    def _offer_candidate(self, u: Utterance, at: int, fut: asyncio.Future[str]) -> None:
        """Offer the speculative transcript while the silence lasts: the reply can start before the endpoint."""
        if not self.vad_cfg.preemptive_ms or u.closed or u.candidate_sent or fut.cancelled() or fut.exception():
            return
        if u.speculative is None or u.speculative[0] != at or u.last_speech_end > at:
            return
        text = fut.result().strip()
        if text:
            u.candidate_sent = True
            self.markbook.of(u.turn_id)["turn_offered"] = now()  # the reply starts here (the last offer counts)
            self._emit(TurnCandidate(turn_id=u.turn_id, text=text))

    def _withdraw(self, u: Utterance) -> None:
        """The audio says the speaker is going on: a reply started on the words alone is stale."""
        if u.candidate_sent:
            u.candidate_sent = False
            self._emit(SpeechResumed(turn_id=u.turn_id))
