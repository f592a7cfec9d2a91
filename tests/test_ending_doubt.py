"""An ending Whisper may have made up from a fragment ("about the [pause]" written "about that?", "Set a timer for
[pause]" written "Set a timer for it.") does not end the turn at the short silence. Fast tests script the
recognizer's words and doubt around the real listener; the rest run the real Whisper tiny.en on espeak-ng speech."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from app.bench_voices import espeak_say
from base.events import SpeechResumed, TurnCandidate
from core.config import SttConfig, TurnConfig
from realtime.end_of_turn import DOUBT, Verdict, build_end_of_turn, doubted
from realtime.stt import PAUSE_PROMPT, EndingDoubt, WhisperSTT
from tests.test_end_of_turn import TURN, FixedP, TextBySeconds, finals, listen, needs_model, silence, tone, waited

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


class Doubting(TextBySeconds):
    """The scripted recognizer, with a scripted doubt for every question it is asked about."""

    def __init__(self, script: list[tuple[float, str]], doubt: float | Exception) -> None:
        super().__init__(script)
        self.doubt = doubt
        self.asked: list[str] = []

    def ending_doubt(self, audio: np.ndarray, text: str, prompt: str | None) -> float:
        self.asked.append(text)
        if isinstance(self.doubt, Exception):
            raise self.doubt
        return self.doubt


FRAGMENT = [(0.0, "Can you tell me about that?"), (2.0, "Can you tell me about the history of the bridge?")]


def paused_question() -> np.ndarray:
    return np.concatenate([tone(1.2), silence(1.0), tone(1.0), silence(2.5)])


def test_a_doubted_question_ends_later_and_only_a_finished_one_is_doubted() -> None:
    question = Verdict(True, None, None, "Can you tell me about that?")
    assert doubted(question, DOUBT - 0.01, TURN).endpoint_ms is None  # answered at the short silence
    held = doubted(question, DOUBT + 0.01, TURN)
    assert held.finished and held.held_longer and held.endpoint_ms == TURN.doubt_silence_ms
    assert held.doubt == pytest.approx(DOUBT + 0.01)
    unfinished = Verdict(False, None, "ends on 'the'", "Can you tell me about the")
    assert doubted(unfinished, 0.9, TURN) == Verdict(False, None, "ends on 'the'", "Can you tell me about the",
                                                     doubt=0.9)
    text_sure = Verdict(True, 0.1, None, "x?", 0.9, 2000)
    assert doubted(text_sure, 0.9, TurnConfig(doubt_silence_ms=1200)).endpoint_ms == 2000  # never shorter
    assert isinstance(Doubting([], 0.0), EndingDoubt)


async def test_a_doubted_question_is_not_ended_when_the_speaker_goes_on() -> None:
    stt = Doubting(FRAGMENT, 0.3)
    events, _ = await listen(paused_question(), stt, FixedP(0.95))
    assert finals(events) == ["Can you tell me about the history of the bridge?"]
    assert stt.asked and stt.asked[0] == "Can you tell me about that?"
    # the reply was prepared on the words meanwhile, and withdrawn when the speaker went on
    assert any(isinstance(e, TurnCandidate) for e in events) and any(isinstance(e, SpeechResumed) for e in events)


async def test_without_the_doubt_the_same_pause_splits_the_turn() -> None:
    events, _ = await listen(paused_question(), Doubting(FRAGMENT, 0.0), FixedP(0.95))
    assert len(finals(events)) == 2 and finals(events)[0] == "Can you tell me about that?"


async def test_a_doubted_question_that_really_ends_is_answered_after_the_doubt_silence() -> None:
    stt = Doubting([(0.0, "Can you tell me about that?")], 0.3)
    events, listener = await listen(np.concatenate([tone(1.2), silence(2.5)]), stt, FixedP(0.95))
    assert finals(events) == ["Can you tell me about that?"]
    assert TURN.doubt_silence_ms / 1000 - 0.05 <= waited(listener, events) < TURN.unfinished_silence_ms / 1000


async def test_a_failing_doubt_check_leaves_the_question_to_its_words() -> None:
    stt = Doubting([(0.0, "What time is it?")], RuntimeError("decoder gone"))
    events, listener = await listen(np.concatenate([tone(1.2), silence(2.5)]), stt, FixedP(0.95))
    assert finals(events) == ["What time is it?"] and waited(listener, events) < 0.5


async def test_a_statement_is_doubted_too_and_words_that_hold_the_turn_are_not_asked() -> None:
    stt = Doubting([(0.0, "Set a timer for it."), (2.0, "Set a timer for ten minutes please.")], 0.2)
    events, _ = await listen(paused_question(), stt, FixedP(0.95))
    assert finals(events) == ["Set a timer for ten minutes please."] and stt.asked[0] == "Set a timer for it."
    stt = Doubting([(0.0, "Turn off the lights.")], 0.0)
    events, listener = await listen(np.concatenate([tone(1.2), silence(2.5)]), stt, FixedP(0.95))
    assert finals(events) == ["Turn off the lights."] and waited(listener, events) < 0.5
    stt = Doubting([(0.0, "Set a timer for")], 0.9)
    events, _ = await listen(np.concatenate([tone(1.2), silence(2.5)]), stt, FixedP(0.95))
    assert stt.asked == []  # a word cue holds it: nothing to doubt


@pytest.fixture(scope="module")
def whisper() -> WhisperSTT:
    return WhisperSTT(SttConfig())


def _at_a_pause(audio: np.ndarray) -> np.ndarray:
    """Speech as the pause decode gets it: 0.3 s before, the words, 90 ms of silence after."""
    a = audio.astype(np.float32) / 32768
    loud = np.nonzero(np.abs(a) > 0.01)[0]
    return np.concatenate([np.zeros(4800, np.float32), a[: int(loud[-1]) + 1], np.zeros(1440, np.float32)])


@needs_espeak
@pytest.mark.parametrize("voice", [None, "en-us+m3"])
def test_whisper_doubts_a_question_it_wrote_from_a_fragment_and_not_finished_ones(whisper: WhisperSTT,
                                                                                   voice: str | None) -> None:
    for fragment in ("Can you tell me about the", "Where is the"):
        pcm = _at_a_pause(espeak_say(fragment, voice))
        text = whisper.transcribe(pcm, final=True, prompt=PAUSE_PROMPT)
        assert text.endswith("?"), text  # the completed question this is about
        assert whisper.ending_doubt(pcm, text, PAUSE_PROMPT) >= DOUBT, text
    for question in ("What time is it?", "Where are you from?", "What is it for?", "Can you tell me about it?",
                     "Who wrote Hamlet?", "Did you see the game?", "Why is the sky blue?"):
        pcm = _at_a_pause(espeak_say(question, voice))
        text = whisper.transcribe(pcm, final=True, prompt=PAUSE_PROMPT)
        assert whisper.ending_doubt(pcm, text, PAUSE_PROMPT) < DOUBT, (question, text)


@needs_espeak
def test_whisper_doubts_a_word_it_added_after_a_dangling_one_and_not_finished_statements(
        whisper: WhisperSTT) -> None:
    pcm = _at_a_pause(espeak_say("Set a timer for", "en-us+m3"))
    text = whisper.transcribe(pcm, final=True, prompt=PAUSE_PROMPT)
    assert text == "Set a timer for it."  # the made-up ending this is about
    assert whisper.ending_doubt(pcm, text, PAUSE_PROMPT) >= DOUBT
    for voice in (None, "en-us+m3", "en+f3"):
        for statement in ("Turn off the lights.", "I would like a cup of tea.", "We will stay at home.",
                          "Tell me about Paris.", "Call my mother.", "Set a timer for ten minutes please.",
                          "I was thinking that we could go to the beach."):
            pcm = _at_a_pause(espeak_say(statement, voice))
            text = whisper.transcribe(pcm, final=True, prompt=PAUSE_PROMPT)
            assert whisper.ending_doubt(pcm, text, PAUSE_PROMPT) < DOUBT, (voice, statement, text)


@needs_espeak
def test_the_doubt_is_the_same_with_or_without_the_pause_decodes_encoder_output(whisper: WhisperSTT) -> None:
    pcm = _at_a_pause(espeak_say("Can you tell me about the"))
    text = whisper.transcribe(pcm, final=True, prompt=PAUSE_PROMPT)
    reused = whisper.ending_doubt(pcm, text, PAUSE_PROMPT)
    whisper.transcribe(_at_a_pause(espeak_say("Yes")), final=True, prompt=PAUSE_PROMPT)  # another decode since
    assert whisper.ending_doubt(pcm, text, PAUSE_PROMPT) == pytest.approx(reused, abs=1e-4)
    assert whisper.ending_doubt(pcm, "Yes?", PAUSE_PROMPT) == 0.0  # one word: nothing to doubt


@pytest.mark.slow
@needs_model
@needs_espeak
async def test_pauses_after_about_the_and_for_stay_one_turn_with_the_real_models(whisper: WhisperSTT) -> None:
    judge = build_end_of_turn(TURN)
    for voice, first, rest in ((None, "Can you tell me about the", "history of the bridge?"),
                               ("en-us+m3", "Set a timer for", "ten minutes please.")):
        audio = np.concatenate([espeak_say(first, voice), silence(1.0), espeak_say(rest, voice), silence(2.5)])
        events, _ = await listen(audio, whisper, judge)
        assert len(finals(events)) == 1, finals(events)
