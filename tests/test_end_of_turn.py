"""The adaptive endpoint: a pause judged finished ends the turn soon, an unfinished one is waited out.

Fast tests script the audio model (a fixed P) and the recognizer (text by audio length) around the real
listener, webrtcvad and text cue, fed at real-time pace; slow ones run the real Smart Turn and Whisper."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio

from app.bench_voices import espeak_say
from base.events import Event, FinalTranscript, SpeechResumed, TurnCandidate
from core.config import SttConfig, TurnConfig, VadConfig
from realtime.audio_in import feed
from realtime.end_of_turn import EndOfTurn, Verdict, audio_decides, build_end_of_turn, model_path
from realtime.listener import Listener
from realtime.stt import PAUSE_PROMPT, SpeechToText
from realtime.vad import build_vad
from tests.transcripts import JFK_TEXT, wer

SR = 16000
TURN = TurnConfig()


class TextBySeconds:
    """Fake recognizer: the text of the longest scripted prefix the audio covers ((seconds, text) pairs)."""

    def __init__(self, script: list[tuple[float, str]]) -> None:
        self.script = script
        self.prompts: list[str | None] = []

    def transcribe(self, audio: np.ndarray, *, final: bool = False, prompt: str | None = None) -> str:
        self.prompts.append(prompt)
        text = ""
        for seconds, words in self.script:
            if len(audio) / SR >= seconds:
                text = words
        return text


class FixedP:
    """The audio model scripted: always the same P(finished); the words' veto is the real one."""

    def __init__(self, p: float) -> None:
        self.p, self.calls = p, 0
        self.words = EndOfTurn(TURN)

    def p_finished(self, audio: np.ndarray) -> float | None:
        self.calls += 1
        return self.p

    def needs_audio(self, text: str) -> bool:
        return audio_decides(text)

    def decide(self, p_audio: float | None, text: str) -> Verdict:
        return self.words.decide(p_audio, text)


_VOICE: list[np.ndarray] = []


def tone(seconds: float) -> np.ndarray:
    """Real (synthetic) speech of that length, without pauses: the fake recognizer decides the words."""
    if not _VOICE:
        _VOICE.append(espeak_say("Mary had a little lamb whose fleece was white as snow and everywhere that "
                                 "Mary went the lamb was sure to go"))
    return _VOICE[0][int(0.1 * SR): int((0.1 + seconds) * SR)]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.int16)


async def listen(audio: np.ndarray, stt: object, judge: object, vad_cfg: VadConfig | None = None,
                 events: list[Event] | None = None) -> tuple[list[Event], Listener]:
    """Feed 30 ms frames at real-time pace, like a microphone, then flush; events go to `events` if given
    (a judge can watch them as they come)."""
    events = [] if events is None else events
    cfg = vad_cfg or VadConfig()
    listener = Listener(build_vad(cfg), stt, cfg, SttConfig(), events.append,  # type: ignore[arg-type]
                        judge=judge, turn_cfg=TURN)  # type: ignore[arg-type]
    await feed(audio, listener.push)
    await listener.flush()
    await listener.aclose()
    return events, listener


def finals(events: list[Event]) -> list[str]:
    return [e.text for e in events if isinstance(e, FinalTranscript)]


def waited(listener: Listener, events: list[Event]) -> float:
    """Silence between the end of speech and the endpoint of the (first) turn."""
    m = listener.marks(next(e for e in events if isinstance(e, FinalTranscript)).turn_id)
    return m["endpoint"] - m["speech_end"]


async def test_a_finished_question_is_answered_after_the_short_silence() -> None:
    stt = TextBySeconds([(0.0, "What time is it?")])
    events, listener = await listen(np.concatenate([tone(1.2), silence(2.5)]), stt, FixedP(0.9))
    assert finals(events) == ["What time is it?"]
    assert waited(listener, events) < 0.5  # not the 1.8 s limit nor the 700 ms fixed endpoint
    assert any(isinstance(e, TurnCandidate) for e in events)  # the reply was started once judged finished
    assert any(p is not None for p in stt.prompts)  # the decode at the pause was primed for punctuation


class Timeline(FixedP):
    """FixedP that notes when the audio model is asked, among the listener's events."""

    def __init__(self, p: float, events: list[Event]) -> None:
        super().__init__(p)
        self.events = events
        self.asked_after: list[int] = []  # how many events were out when the model was asked

    def p_finished(self, audio: np.ndarray) -> float | None:
        self.asked_after.append(len(self.events))
        return super().p_finished(audio)


async def test_a_question_is_judged_on_its_words_without_the_audio_model() -> None:
    events: list[Event] = []
    judge = Timeline(0.03, events)  # an audio model that would hold it (espeak-ng's flat voice gets 0.04)
    _, listener = await listen(np.concatenate([tone(1.2), silence(1.5)]),
                               TextBySeconds([(0.0, "What time is it?")]), judge, events=events)
    assert finals(events) == ["What time is it?"] and waited(listener, events) < 0.5
    assert judge.calls == 0  # the words settled it: no 50-70 ms of ONNX on the way to the reply


async def test_a_statement_starts_the_reply_before_the_audio_model_is_asked() -> None:
    events: list[Event] = []
    judge = Timeline(0.9, events)
    await listen(np.concatenate([tone(1.2), silence(1.5)]), TextBySeconds([(0.0, "Paris.")]), judge, events=events)
    last = max(i for i, e in enumerate(events) if isinstance(e, TurnCandidate))  # the pause that ended it
    assert judge.asked_after and last < judge.asked_after[-1]  # the model thinks while Smart Turn listens
    assert finals(events) == ["Paris."] and not [e for e in events[last:] if isinstance(e, SpeechResumed)]


async def test_the_audio_model_withdraws_a_reply_started_on_the_words() -> None:
    """"Ask not." reads as finished, but the voice is going on (JFK's P 0.01-0.04): the early reply is
    withdrawn at once, and the one turn is answered when it is over."""
    events: list[Event] = []
    stt = TextBySeconds([(0.0, "Ask not."), (2.5, "Ask not what your country can do for you.")])
    audio = np.concatenate([tone(1.0), silence(1.1), tone(1.0), silence(2.5)])
    await listen(audio, stt, Timeline(0.03, events), events=events)
    kinds = [type(e).__name__ for e in events if isinstance(e, (TurnCandidate, SpeechResumed, FinalTranscript))]
    assert kinds[:2] == ["TurnCandidate", "SpeechResumed"]  # withdrawn before the speaker went on
    assert finals(events) == ["Ask not what your country can do for you."]


class HearsTheSilence(FixedP):
    """Smart Turn as measured on Piper's "...twenty minutes before.": P 0.02 while the audio it hears ends less
    than 200 ms after the last word, 0.97 once it goes on longer (it was trained on ~200 ms of trailing silence)."""

    def __init__(self) -> None:
        super().__init__(0.0)
        self.heard_silence: list[float] = []

    def p_finished(self, audio: np.ndarray) -> float | None:
        self.calls += 1
        voiced = np.flatnonzero(np.asarray(audio).reshape(-1))
        trailing = (len(audio) - (voiced[-1] + 1 if len(voiced) else 0)) / SR
        self.heard_silence.append(trailing)
        return 0.97 if trailing >= 0.2 else 0.02


async def test_the_audio_model_looks_again_and_a_finished_statement_is_answered_soon() -> None:
    """Words that end the turn, an audio model that calls it unfinished 90 ms into the pause: it hears the pause
    again at turn.second_look_ms (300) and agrees, so the reply started on the words stands and the turn ends at
    the short silence instead of the 1.8 s limit."""
    judge = HearsTheSilence()
    stt = TextBySeconds([(0.0, "Please remind me to leave the office twenty minutes before.")])
    events, listener = await listen(np.concatenate([tone(1.5), silence(2.5)]), stt, judge)
    assert len(finals(events)) == 1 and waited(listener, events) < 0.6
    first, second = judge.heard_silence[-2:]  # (word gaps in the clip may be looked at before)
    assert first < 0.2 <= TURN.second_look_ms / 1000 - 0.05 <= second
    last = max(i for i, e in enumerate(events) if isinstance(e, TurnCandidate))
    assert not [e for e in events[last:] if isinstance(e, SpeechResumed)]  # the early reply was never withdrawn


async def test_a_second_look_that_still_hears_more_coming_withdraws_the_reply() -> None:
    events: list[Event] = []
    judge = Timeline(0.03, events)
    stt = TextBySeconds([(0.0, "I need to buy milk."), (2.9, "I need to buy milk and bread for the weekend.")])
    audio = np.concatenate([tone(1.2), silence(1.2), tone(1.2), silence(2.5)])
    await listen(audio, stt, judge, events=events)
    kinds = [type(e).__name__ for e in events if isinstance(e, (TurnCandidate, SpeechResumed, FinalTranscript))]
    assert kinds[:2] == ["TurnCandidate", "SpeechResumed"]  # withdrawn at the second look, before speech came back
    assert finals(events) == ["I need to buy milk and bread for the weekend."]
    assert judge.calls >= 3  # two looks at the pause, then the end


async def test_no_second_look_when_the_speaker_goes_on_first() -> None:
    judge = HearsTheSilence()
    stt = TextBySeconds([(0.0, "I need to buy milk."), (2.4, "I need to buy milk and bread for the weekend.")])
    audio = np.concatenate([tone(1.2), silence(0.24), tone(1.2), silence(2.5)])
    events, _ = await listen(audio, stt, judge)
    assert finals(events) == ["I need to buy milk and bread for the weekend."]
    late = [s for s in judge.heard_silence if s >= 0.2]
    assert late == [judge.heard_silence[-1]]  # only the end was looked at again, not the 240 ms gap


class TwoSentences:
    """Hears "I am going to Lisbon." in any audio decoded whole, and the second sentence in a tail decode that
    is given the first as context; records (seconds of audio, prompt) of each pause decode."""

    def __init__(self) -> None:
        self.pause_decodes: list[tuple[float, str | None]] = []

    def transcribe(self, audio: np.ndarray, *, final: bool = False, prompt: str | None = None) -> str:
        if not final:
            return ""
        self.pause_decodes.append((len(audio) / SR, prompt))
        return "What should I pack?" if prompt and "Lisbon" in prompt else "I am going to Lisbon."


async def test_after_a_sentence_end_the_pause_decode_hears_only_what_came_after() -> None:
    """The words up to a pause that ended a sentence stand: the last pause decodes only the rest (fewer tokens for
    Whisper to write, which is most of a pause decode), with the first sentence as its context."""
    stt = TwoSentences()
    audio = np.concatenate([tone(1.5), silence(0.3), tone(1.8), silence(1.5)])
    events, _ = await listen(audio, stt, FixedP(0.9))
    assert finals(events) == ["I am going to Lisbon. What should I pack?"]
    seconds, prompt = stt.pause_decodes[-1]
    assert prompt is not None and prompt.endswith("I am going to Lisbon.") and prompt.startswith(PAUSE_PROMPT)
    assert seconds < 2.3  # the second sentence and its silence, not the 3.6 s utterance


class GarblesShortTails:
    """Whole decodes hear the words so far; a tail decode shorter than 1.5 s comes out garbled, as tiny.en's
    "eggs, and" after a committed "I need to buy milk." did ("X, n.")."""

    def __init__(self) -> None:
        self.pause_decodes: list[tuple[float, str | None]] = []

    def transcribe(self, audio: np.ndarray, *, final: bool = False, prompt: str | None = None) -> str:
        if not final:
            return ""
        seconds = len(audio) / SR
        self.pause_decodes.append((seconds, prompt))
        if prompt and "milk." in prompt:
            return "X, n." if seconds < 1.5 else "And bread for the weekend."
        return ("I need to buy milk." if seconds < 1.7 else "I need to buy milk, eggs, and..." if seconds < 3.5
                else "I need to buy milk, eggs, and bread for the weekend.")


async def test_a_short_tail_that_would_end_the_turn_is_heard_whole_again() -> None:
    """"I need to buy milk, [0.3 s] eggs, and [1.2 s] bread...": the comma gap commits "I need to buy milk.", and
    the 0.8 s after it, decoded alone, would end the turn; heard whole again, its "and" holds the turn."""
    stt = GarblesShortTails()
    audio = np.concatenate([tone(1.2), silence(0.3), tone(0.7), silence(1.2), tone(1.0), silence(2.5)])
    events, _ = await listen(audio, stt, FixedP(0.9))
    assert len(finals(events)) == 1, finals(events)
    at_the_long_pause = [(s, p) for s, p in stt.pause_decodes if 2.0 < s < 2.6]
    assert at_the_long_pause and all(p == PAUSE_PROMPT for _, p in at_the_long_pause)  # whole, no context
    garbled = [i for i, e in enumerate(events) if isinstance(e, TurnCandidate) and e.text.endswith("X, n.")]
    if garbled:  # a reply started on the tail's words was withdrawn once the whole read otherwise
        assert any(isinstance(e, SpeechResumed) for e in events[garbled[0]:])


class HoldsTheFirstLookAtTheLongPause(FixedP):
    """Finished (P 0.9) everywhere but at the first look at the long pause (0.05): its second look ends it."""

    def p_finished(self, audio: np.ndarray) -> float | None:
        if len(audio) / SR >= 2.0 and not self.calls:
            self.calls += 1
            return 0.05
        return self.p


async def test_a_short_tail_ended_by_the_second_look_is_heard_whole_again_too() -> None:
    stt = GarblesShortTails()
    audio = np.concatenate([tone(1.2), silence(0.3), tone(0.7), silence(1.2), tone(1.0), silence(2.5)])
    events, _ = await listen(audio, stt, HoldsTheFirstLookAtTheLongPause(0.9))
    assert len(finals(events)) == 1, finals(events)


class StuckUntil(TextBySeconds):
    """The fake recognizer on a machine that stalls: no decode finishes before `seconds` after it was made."""

    def __init__(self, script: list[tuple[float, str]], seconds: float) -> None:
        super().__init__(script)
        self.until = time.monotonic() + seconds

    def transcribe(self, audio: np.ndarray, *, final: bool = False, prompt: str | None = None) -> str:
        time.sleep(max(0.0, self.until - time.monotonic()))
        return super().transcribe(audio, final=final, prompt=prompt)


async def test_a_pause_is_judged_even_while_earlier_decodes_are_in_flight() -> None:
    """A partial is stuck and a short gap's decode is queued when the speaker stops: the last pause is still
    judged once the decoder is free (it used to be skipped with two decodes in flight, and the turn waited out
    the 1.8 s limit); the gap's stale decode is dropped instead of run."""
    stt = StuckUntil([(0.0, "What time is it?")], seconds=2.0)
    audio = np.concatenate([tone(1.0), silence(0.2), tone(0.3), silence(3.0)])  # speech ends at ~1.5 s
    events, listener = await listen(audio, stt, FixedP(0.9))
    assert finals(events) == ["What time is it?"]
    assert waited(listener, events) < 1.2


async def test_words_that_go_on_outvote_an_audio_model_that_calls_it_finished() -> None:
    stt = TextBySeconds([(0.0, "And so, my fellow Americans,"),
                         (2.5, "And so, my fellow Americans, ask not what your country can do for you.")])
    audio = np.concatenate([tone(1.0), silence(1.2), tone(1.0), silence(2.5)])
    events, _ = await listen(audio, stt, FixedP(0.95))
    assert len(finals(events)) == 1 and finals(events)[0].endswith("for you.")
    offered = [e.text for e in events if isinstance(e, TurnCandidate)]
    assert offered == finals(events)  # no reply was started at the pause, only once the turn was over


async def test_an_audio_model_that_hears_more_coming_holds_the_turn() -> None:
    stt = TextBySeconds([(0.0, "Ask not."), (2.5, "Ask not what your country can do for you.")])
    audio = np.concatenate([tone(1.0), silence(1.1), tone(1.0), silence(2.5)])
    events, _ = await listen(audio, stt, FixedP(0.03))  # like JFK's "ask not" (P 0.01-0.04)
    assert finals(events) == ["Ask not what your country can do for you."]


async def test_a_speaker_who_really_stops_mid_sentence_is_answered_after_the_limit() -> None:
    stt = TextBySeconds([(0.0, "I want to go to the")])
    events, listener = await listen(np.concatenate([tone(1.2), silence(2.6)]), stt, FixedP(0.9))
    assert finals(events) == ["I want to go to the"]
    assert TURN.unfinished_silence_ms / 1000 - 0.1 <= waited(listener, events) <= 2.2


async def test_a_broken_audio_model_leaves_the_words_to_decide() -> None:
    class Broken(FixedP):
        def p_finished(self, audio: np.ndarray) -> float | None:
            raise RuntimeError("onnx exploded")

    events, listener = await listen(np.concatenate([tone(1.2), silence(1.5)]),
                                    TextBySeconds([(0.0, "Paris.")]), Broken(0.0))
    assert finals(events) == ["Paris."] and waited(listener, events) < 0.5


def test_without_the_model_file_the_words_decide_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    judge = build_end_of_turn(TurnConfig(model_path=str(tmp_path / "missing.onnx")))
    assert judge is not None and judge.model is None
    assert "make turn-model" in caplog.text
    assert judge.decide(None, "Yes.").finished and not judge.decide(None, "milk, eggs, and").finished
    assert build_end_of_turn(TurnConfig(detector="off")) is None


needs_model = pytest.mark.skipif(not model_path(TURN).exists(), reason="no Smart Turn model: make turn-model")


@pytest.mark.slow
@needs_model
async def test_jfk_is_one_turn_at_the_default_config(jfk_path: Path) -> None:
    """The real thing: webrtcvad, Whisper tiny.en, Smart Turn v3.2 and the words, real time, default config."""
    from realtime.stt import build_stt

    pcm = (decode_audio(str(jfk_path)) * 32767).astype(np.int16)
    events, _ = await listen(np.concatenate([silence(0.5), pcm, silence(2.5)]), build_stt(SttConfig()),
                             build_end_of_turn(TURN))
    assert len(finals(events)) == 1, finals(events)
    assert wer(JFK_TEXT, finals(events)[0]) <= 0.05


@pytest.mark.slow
@needs_model
async def test_jfk_in_room_noise_is_still_one_turn(jfk_path: Path) -> None:
    """40 dB below full scale of steady noise (a fan, a quiet street): tiny.en then reads the first pause as "And
    so am I, fellow American." and Smart Turn calls it finished (P 0.96); the turn was cut there."""
    from realtime.stt import build_stt

    speech = decode_audio(str(jfk_path))
    noise = np.random.default_rng(5).normal(0, 10 ** (-40 / 20), len(speech))  # split it on the old code
    pcm = np.clip((speech + noise) * 32767, -32768, 32767).astype(np.int16)
    events, _ = await listen(np.concatenate([silence(0.5), pcm, silence(2.5)]), build_stt(SttConfig()),
                             build_end_of_turn(TURN))
    assert len(finals(events)) == 1, finals(events)


@pytest.mark.slow
@needs_model
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
async def test_paused_sentences_stay_one_turn_and_a_question_is_answered_soon() -> None:
    from realtime.stt import build_stt

    stt, judge = build_stt(SttConfig()), build_end_of_turn(TURN)
    for first, rest in [("I need to buy milk, eggs, and", "bread for the weekend."),
                        ("The thing I really want to know is", "whether the shop is open.")]:
        audio = np.concatenate([espeak_say(first), silence(1.2), espeak_say(rest), silence(2.5)])
        events, _ = await listen(audio, stt, judge)
        assert len(finals(events)) == 1, finals(events)
    events, listener = await listen(np.concatenate([espeak_say("What time is it in Paris?"),
                                                    silence(2.5)]), stt, judge)
    assert len(finals(events)) == 1
    assert waited(listener, events) < 1.6  # judged finished: short of the 1.8 s an unfinished turn gets


class Recording:
    """A real recognizer that notes the seconds of audio each pause decode was given."""

    def __init__(self, stt: SpeechToText) -> None:
        self.stt = stt
        self.pause_seconds: list[float] = []

    def transcribe(self, audio: np.ndarray, *, final: bool = False, prompt: str | None = None) -> str:
        if final:
            self.pause_seconds.append(len(audio) / SR)
        return self.stt.transcribe(audio, final=final, prompt=prompt)  # type: ignore[call-arg]


@pytest.mark.slow
@needs_model
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
async def test_a_two_sentence_question_is_decoded_from_its_second_sentence_with_the_same_words() -> None:
    from realtime.stt import build_stt

    text = "I want to start running in the mornings. How far should I go in the first week?"
    question = espeak_say(text)  # one breath, with espeak-ng's own gap between the sentences
    stt = Recording(build_stt(SttConfig()))
    events, _ = await listen(np.concatenate([question, silence(1.5)]), stt, build_end_of_turn(TURN))
    assert len(finals(events)) == 1 and wer(text, finals(events)[0]) <= 0.15, finals(events)
    assert stt.pause_seconds[-1] < len(question) / SR - 1.0  # the second sentence, not the whole question


def test_the_words_and_the_audio_decide_together() -> None:
    judge = EndOfTurn(TURN)
    assert judge.decide(0.9, "What time is it?").finished
    assert judge.decide(0.9, "Paris.").finished
    assert not judge.decide(0.95, "And so, my fellow Americans.").finished  # the words veto the audio
    assert not judge.decide(0.03, "Ask not.").finished  # the audio hears more coming
    assert judge.decide(0.05, "What should I pack for the weather there?").finished  # a whole question
    assert not judge.decide(0.95, "Can you tell me about the?").finished  # a question with a cue still waits
    assert judge.decide(None, "Yes.").finished and not judge.decide(None, "I want to go to the").finished


def test_a_sure_audio_model_overrules_a_trailing_ellipsis_or_comma_and_nothing_else() -> None:
    """Whisper primed at a pause writes "Yes..." or "Yes," after a short answer (Piper's "Yes." was written
    "Yes," and waited the 1.8 s limit); the audio hears it fall (P 0.83-0.98). Punctuation in a transcript is
    Whisper's guess at the voice; a word cue is grammar and stands."""
    judge = EndOfTurn(TURN)
    assert judge.decide(0.98, "Yes...").finished
    assert judge.decide(0.83, "Next song...").finished  # an unseen espeak-ng voice waited 1.8 s at 0.9
    assert not judge.decide(0.6, "Next song...").finished  # not sure enough: the ellipsis still holds the turn
    assert not judge.decide(None, "Next song...").finished  # no audio model: the words decide alone
    # a short whole answer ends the turn as a question does: Whisper's "Yes..." for espeak-ng en-us+m3's "Yes."
    # (P 0.11 at both looks) waited the 1.8 s limit
    assert judge.decide(0.11, "Yes...").finished and judge.decide(None, "No thanks,").finished
    assert not audio_decides("Yes...") and audio_decides("Next song...")
    assert not judge.decide(0.98, "I need to buy milk, eggs, and...").finished  # a word cue is not overruled
    assert not judge.decide(0.98, "And so, my fellow Americans...").finished
    assert judge.decide(0.98, "Next song,").finished and not judge.decide(0.6, "Next song,").finished
    assert not judge.decide(0.98, "I need to buy milk, eggs, and,").finished
    assert not judge.decide(0.98, "My favourite films are,").finished
    assert not judge.decide(0.98, "The best option is:").finished  # a colon announces what comes
