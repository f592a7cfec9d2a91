"""Do these words read like a whole utterance? A learned second opinion for when the audio holds a turn.

Smart Turn hears prosody, and on flat voices (espeak-ng) it calls finished statements unfinished at every
silence up to 1 s: "Please remind me to leave the office twenty minutes before." waited the 1.8 s limit. The
rule cues of `realtime.turn_text` only ever say *unfinished*. This model says how likely the words are a
complete message: a logistic regression over hashed word n-grams (the last one to three words, the first one
or two, every word and word pair, the length), trained on the 258,000 chat messages of the BYU chitchat
dataset (MIT), each message a positive and one random cut of it a negative (`app.train_text_turn`, run by
`make text-turn-model`). It is 1 MB, scores in well under a millisecond and needs no torch. Used only where the
words carry no cue and the audio disagrees (see `EndOfTurn.decide`); without the file the judge works as before.
"""

from __future__ import annotations

import itertools
import re
import zlib
from pathlib import Path

import numpy as np

DIM = 2**18  # hashed feature slots: 1 MB of float32 weights
VERSION = 1  # of the features below; a model file of another version is refused
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation: chat messages carry little of it, and Whisper's is a guess."""
    return _WORD.findall(text.lower().replace("’", "'"))


def features(ws: list[str]) -> set[str]:
    """The n-gram features of a non-empty word list (training and scoring must share them)."""
    n = len(ws)
    f = {f"L1={ws[-1]}", f"F1={ws[0]}", f"N={min(n, 12)}", f"F1N={ws[0]}|{min(n, 6)}"}
    if n >= 2:
        f |= {f"L2={ws[-2]} {ws[-1]}", f"F2={ws[0]} {ws[1]}"}
    if n >= 3:
        f.add(f"L3={' '.join(ws[-3:])}")
    f.update(f"W={w}" for w in ws)
    f.update(f"B={a}_{b}" for a, b in itertools.pairwise(ws))
    return f


def slots(ws: list[str], dim: int = DIM) -> np.ndarray:
    """The hashed slots of the features (crc32: stable across processes, unlike `hash`)."""
    return np.fromiter(sorted({zlib.crc32(s.encode()) % dim for s in features(ws)}), dtype=np.int64)


class TextTurnModel:
    """P(the words are a complete utterance) from a weights file written by `app.train_text_turn`."""

    def __init__(self, weights: np.ndarray, bias: float) -> None:
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = float(bias)

    @classmethod
    def load(cls, path: Path) -> TextTurnModel:
        with np.load(path) as z:
            version = int(z["version"])
            if version != VERSION:
                raise ValueError(f"model file is version {version}, this code reads {VERSION}")
            return cls(z["weights"], float(z["bias"]))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:  # np.savez would add ".npz" to a name without it
            np.savez_compressed(f, weights=self.weights, bias=np.float32(self.bias), version=np.int32(VERSION))

    def p_complete(self, text: str) -> float:
        ws = words(text)
        if not ws:
            return 0.0
        z = self.bias + float(self.weights[slots(ws, len(self.weights))].sum())
        return float(1.0 / (1.0 + np.exp(-z)))
