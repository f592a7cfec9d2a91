"""The words' end-of-turn model: where the audio holds a statement, sure words end it after a longer silence.

The listener tests use models with set weights (every text sure, or none), so they test the listener's path,
not the training; the trained file (`make text-turn-model`) is checked on its own cases."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from app import train_text_turn
from app.bench_turns import PAUSED
from base.events import Event, SpeechResumed, TurnCandidate
from core.config import TurnConfig
from realtime.end_of_turn import EndOfTurn, build_end_of_turn, load_text_model, text_model_path, turn_status
from realtime.text_turn import DIM, TextTurnModel, slots, words
from realtime.turn_text import unfinished_cue
from tests.test_end_of_turn import TURN, FixedP, TextBySeconds, finals, listen, silence, tone, waited

STATEMENT = "Please remind me to leave the office twenty minutes before."
SURE, UNSURE = 3.0, -3.0  # biases: P 0.95 and 0.05 for every text


def model(bias: float) -> TextTurnModel:
    return TextTurnModel(np.zeros(DIM, dtype=np.float32), bias)


class AudioHolds(FixedP):
    """An audio model that holds every pause (espeak-ng's finished statements get P 0.01-0.2), with the real
    words' veto and a words' model of the test's choosing."""

    def __init__(self, text_model: TextTurnModel | None, p: float = 0.05) -> None:
        super().__init__(p)
        self.words = EndOfTurn(TURN, text_model=text_model)


async def test_sure_words_end_a_statement_the_audio_holds_after_the_longer_silence() -> None:
    events: list[Event] = []
    _, listener = await listen(np.concatenate([tone(1.5), silence(2.5)]), TextBySeconds([(0.0, STATEMENT)]),
                               AudioHolds(model(SURE)), events=events)
    assert finals(events) == [STATEMENT]
    assert TURN.finished_silence_ms / 1000 < waited(listener, events) < TURN.text_sure_silence_ms / 1000 + 0.2
    last = max(i for i, e in enumerate(events) if isinstance(e, TurnCandidate))
    assert not [e for e in events[last:] if isinstance(e, SpeechResumed)]  # the reply started on the words stood


async def test_unsure_words_leave_the_statement_to_the_limit() -> None:
    events, listener = await listen(np.concatenate([tone(1.5), silence(2.5)]), TextBySeconds([(0.0, STATEMENT)]),
                                    AudioHolds(model(UNSURE)))
    assert finals(events) == [STATEMENT] and waited(listener, events) >= TURN.unfinished_silence_ms / 1000 - 0.05


async def test_a_speaker_who_goes_on_within_the_longer_silence_keeps_one_turn() -> None:
    stt = TextBySeconds([(0.0, "I need to buy milk."), (2.6, "I need to buy milk and bread for the weekend.")])
    audio = np.concatenate([tone(1.2), silence(0.6), tone(1.2), silence(2.5)])
    events, _ = await listen(audio, stt, AudioHolds(model(SURE)))
    assert finals(events) == ["I need to buy milk and bread for the weekend."]
    assert any(isinstance(e, SpeechResumed) for e in events)  # the early reply was withdrawn when speech came back


async def test_an_audio_model_that_agrees_at_its_second_look_ends_the_turn_at_the_short_silence() -> None:
    """The words' model does not make a turn the audio would end soon wait longer."""

    class SecondLookAgrees(AudioHolds):
        def p_finished(self, audio: np.ndarray) -> float | None:
            self.calls += 1
            return 0.05 if self.calls == 1 else 0.9

    events, listener = await listen(np.concatenate([tone(1.5), silence(2.5)]), TextBySeconds([(0.0, STATEMENT)]),
                                    SecondLookAgrees(model(SURE)))
    assert finals(events) == [STATEMENT] and waited(listener, events) < TURN.finished_silence_ms / 1000 + 0.15


def test_the_words_model_is_asked_only_where_the_audio_alone_holds_a_statement() -> None:
    judge = EndOfTurn(TURN, text_model=model(SURE))
    held = judge.decide(0.05, STATEMENT)
    assert held.finished and held.p_text == pytest.approx(0.95, abs=0.01)
    assert held.endpoint_ms == TURN.text_sure_silence_ms and held.held_longer
    for p, text in ((0.9, STATEMENT), (0.05, "What time is it?"), (None, STATEMENT)):
        v = judge.decide(p, text)  # the audio agrees, a question, no audio model: the usual short silence
        assert v.finished and v.p_text is None and v.endpoint_ms is None
    for text in ("The thing I really want to know is", "I need to buy milk, eggs, and", "My favourite films are,"):
        v = judge.decide(0.05, text)  # a cue of going on is never overruled
        assert not v.finished and v.p_text is None
    unsure = EndOfTurn(TURN, text_model=model(UNSURE)).decide(0.05, STATEMENT)
    assert not unsure.finished and unsure.p_text == pytest.approx(0.05, abs=0.01)


def test_features_are_the_same_in_every_process() -> None:
    assert words("And so, my fellow Americans… ask NOT!") == ["and", "so", "my", "fellow", "americans", "ask", "not"]
    assert words("I’m done.") == ["i'm", "done"]
    assert slots(["ask", "not"]).tolist() == [51818, 54427, 57565, 65177, 79267, 146546, 148562, 155878, 259912]
    assert model(SURE).p_complete("...") == 0.0  # no words: never sure


def test_training_writes_a_model_that_loads_and_learns_the_cut(tmp_path: Path) -> None:
    whole = ["i will see you tomorrow", "that sounds great thanks", "can you play some music for me",
             "i would like a cup of tea", "we went to the beach yesterday", "my sister lives in lisbon"]
    data = {str(i): {"messages": [[{"text": whole[i % len(whole)], "sender": "a"}]]} for i in range(600)}
    corpus = tmp_path / "dataset.json"
    corpus.write_text(json.dumps(data))
    outs = [tmp_path / "a" / "m.npz", tmp_path / "b" / "m.npz"]
    for out in outs:
        assert train_text_turn.main([str(corpus), str(out)]) == 0
    a, b = (TextTurnModel.load(o) for o in outs)
    assert np.array_equal(a.weights, b.weights) and a.bias == b.bias  # the same corpus gives the same model
    assert a.p_complete("i would like a cup of tea") > 0.8 > 0.2 > a.p_complete("i would like a")


def test_a_model_file_of_another_version_is_refused_with_the_fix(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "m.npz"
    np.savez(path, weights=np.zeros(8, np.float32), bias=np.float32(0), version=np.int32(99))
    cfg = TurnConfig(text_model_path=str(path))
    with caplog.at_level(logging.WARNING):
        assert load_text_model(cfg) is None
        assert load_text_model(TurnConfig(text_model_path=str(tmp_path / "none.npz"))) is None
    assert "version 99" in caplog.text and caplog.text.count("make text-turn-model") == 2


def test_check_names_a_missing_words_model(tmp_path: Path) -> None:
    cfg = TURN.model_copy(update={"text_model_path": str(tmp_path / "none.npz")})
    ok, detail, fix = turn_status(cfg)
    if "no Smart Turn model" in detail:
        pytest.skip("the Smart Turn model comes with `make turn-model`")
    assert not ok and "no words' model" in detail and fix == "make text-turn-model"


trained = pytest.mark.skipif(not text_model_path(TURN).exists(), reason="no words' model: make text-turn-model")


@trained
def test_the_trained_model_tells_a_whole_request_from_a_cut_one() -> None:
    m = load_text_model(TURN)
    assert m is not None
    for whole in (STATEMENT, "The meeting moved to 3 o'clock. " + STATEMENT.replace("twenty", "20"),
                  "I would like a cup of tea.", "My favourite films are the ones with a good ending."):
        assert m.p_complete(whole) >= TURN.text_sure, whole
    # Kennedy's first pauses, as tiny.en writes them: only the audio and this model hold them
    for cut in ("And so my fellow Americans ask not.", "And so, my fellow Americans, ask not!", "I want.",
                "Tomorrow I need to", "The weather in.", "Could you.", "So what I want"):
        assert m.p_complete(cut) < TURN.text_sure, cut
    for before, _, _ in PAUSED:  # the turn bench's paused sentences, cut where the speaker pauses
        assert unfinished_cue(before) is not None or m.p_complete(before) < TURN.text_sure, before


@trained
def test_the_default_judge_carries_the_words_model() -> None:
    judge = build_end_of_turn(TURN)
    if judge is None or judge.model is None:
        pytest.skip("the Smart Turn model comes with `make turn-model`")
    assert judge.text_model is not None
