"""Reference text of the shared audio and the word error rate used to judge transcripts."""

from __future__ import annotations

import re

from app.bench_report import edit_distance

JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance over the reference length."""
    ref = words(reference)
    return edit_distance(ref, words(hypothesis)) / max(1, len(ref))
