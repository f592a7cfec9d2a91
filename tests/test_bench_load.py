"""The load benchmark's cross-talk check: an answer that echoes another session's question is caught."""

from __future__ import annotations

from typing import Any

from app.bench_load import cross_talk


def result(clip: str, question: str, answer: str) -> dict[str, Any]:
    return {"clip": clip, "reference": question, "answer": answer}


def test_an_answer_to_another_sessions_question_is_cross_talk() -> None:
    a = result("a.wav", "Which houseplants survive in a dark bathroom?", "You asked: How long should I boil an egg?")
    b = result("b.wav", "How long should I boil an egg?", "You asked: How long should I boil an egg?")
    assert cross_talk([a, b]) == ["a.wav answered b.wav"]


def test_answers_to_their_own_questions_are_not_cross_talk_even_when_questions_overlap() -> None:
    a = result("a.wav", "Can you suggest a present for my sister?",
               "You asked: can you suggest a present for my sister")
    b = result("b.wav", "Can you suggest a present for my sister? Number seven.",
               "You asked: can you suggest a present for my sister number seven")
    assert cross_talk([a, b]) == []
