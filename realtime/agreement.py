"""Partial transcripts that do not flicker: LocalAgreement-2 over successive Whisper hypotheses."""

from __future__ import annotations

import re


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


class LocalAgreement:
    """Stable partial text: a word is committed once two hypotheses in a row agree on it (LocalAgreement-2).

    The shown text is the committed words plus the newest hypothesis' tail. Committed words are replaced only
    when two hypotheses in a row agree on something else: the model really changed its mind. A hypothesis that
    contradicts committed words, or only drops words from the end of what is shown, leaves the text as it was,
    so the user never sees the text shrink.
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
            candidate = self.committed + hyp[len(self.committed):]
            shrinks = len(candidate) < len(self.shown) and _common(candidate, self.shown) == len(candidate)
            if changed_mind or not shrinks:
                self.shown = candidate
        return " ".join(self.shown)
