"""Partial transcripts that do not flicker: LocalAgreement-2 over successive Whisper hypotheses."""

from __future__ import annotations

import re
from difflib import SequenceMatcher


def _norm(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def _common(a: list[str], b: list[str]) -> int:
    """Length of the common prefix of two word lists, ignoring case and punctuation."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if _norm(x) != _norm(y):
            break
        n += 1
    return n


def _keep_length(candidate: list[str], shown: list[str]) -> list[str]:
    """`candidate`, followed by what `shown` had beyond it when it is shorter: shown text never shrinks.

    Whisper often drops the last words of one decode that the next one brings back, so those words stay on
    screen until a hypothesis covers them. Where the candidate's end is found in `shown` ("...Americans ask"),
    the old text goes on from there; otherwise word for word (a misheard word is most often a substitution).
    """
    if len(candidate) >= len(shown):
        return candidate
    blocks = SequenceMatcher(None, [_norm(w) for w in candidate], [_norm(w) for w in shown],
                             autojunk=False).get_matching_blocks()
    ends_in_shown = [b.b + b.size for b in blocks if b.size and b.a + b.size == len(candidate)]
    return candidate + shown[ends_in_shown[-1] if ends_in_shown else len(candidate):]


class LocalAgreement:
    """Stable partial text: a word is committed once two hypotheses in a row agree on it (LocalAgreement-2).

    The shown text is the committed words plus the newest hypothesis' tail. Committed words are replaced only
    when two hypotheses in a row agree on something else: the model really changed its mind. A hypothesis that
    contradicts committed words is not shown, and one shorter than the shown text keeps the shown words beyond
    it, so the user never sees the text shrink.
    """

    def __init__(self) -> None:
        self.committed: list[str] = []
        self.shown: list[str] = []
        self._prev: list[str] = []

    def update(self, text: str) -> str:
        hyp = text.split()
        n = len(self.committed)
        agree = _common(self.committed, hyp)
        both = _common(self._prev, hyp)
        changed_mind = agree < n and both > agree and _common(self.committed, self._prev) == agree
        if agree == n and both > n:
            self.committed += hyp[n:both]
        elif changed_mind:
            self.committed = self.committed[:agree] + hyp[agree:both]
        self._prev = hyp
        if changed_mind or _common(self.committed, hyp) == len(self.committed):
            self.shown = _keep_length(self.committed + hyp[len(self.committed):], self.shown)
        return " ".join(self.shown)
