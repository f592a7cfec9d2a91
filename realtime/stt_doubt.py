"""Could Whisper have written a whole question where the speaker stopped on a dangling word?

tiny.en completes a fragment at a pause: "Can you tell me about the [1 s] history of the bridge?" is written
"Can you tell me about that?" (or "...this?", "...me?"), and a question ends the turn on its words, before the
speaker goes on. Whisper's best path hides what its decoder heard. Forced along the transcript, the decoder's
distribution at the last word still puts weight on " the": 0.05-0.45 at those pauses (Piper, median 0.17; espeak-ng
voices 0.10-0.23), where finished questions get at most 0.005 (Piper) and 0.05 (espeak-ng, one 0.11). That mass is the
doubt; `realtime.pauses` makes a doubted question wait `turn.doubt_silence_ms` before it ends the turn.

It costs one decoder pass over the prompt and the transcript (forced, nothing sampled) on the pause decode's own
encoder output: 35-55 ms on one core, run beside the reply that is already being prepared.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# The words the rules call dangling at the end of a question ("...and?", "...the?"; see `realtime.turn_text`):
# a preposition may end one ("Where are you from?").
DANGLING_AT_QUESTION_END = ("the", "a", "an", "and", "or", "but", "my", "your")


def dangling_ids(tokenizer: Any) -> list[int]:
    """First tokens of the dangling words, as Whisper writes them inside a sentence and at its start."""
    ids = set()
    for word in DANGLING_AT_QUESTION_END:
        for spelled in (word, word.capitalize()):
            ids.add(tokenizer.encode(" " + spelled)[0])
    return sorted(ids)


def prompt_tokens(tokenizer: Any, prompt: str | None, max_length: int) -> list[int]:
    """The decoder prompt faster-whisper builds for `initial_prompt` and `without_timestamps=True`."""
    tokens: list[int] = []
    if prompt:
        tokens = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())[-(max_length // 2 - 1):]]
    return [*tokens, *tokenizer.sot_sequence, tokenizer.no_timestamps]


def last_word_mass(ct2_model: Any, encoded: Any, prefix: list[int], text_ids: list[int], last_word_at: int,
                   candidates: list[int]) -> float:
    """P(the token at `last_word_at` of the transcript is one of `candidates`), the decoder forced along
    `text_ids` after `prefix`: CTranslate2 returns the log-probabilities of every forced position."""
    result = ct2_model.generate(encoded, [prefix + text_ids], beam_size=1, max_length=len(prefix) + len(text_ids),
                                return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])[0]
    steps = result.logits[0]
    if last_word_at >= len(steps):
        return 0.0
    logits = np.asarray(steps[last_word_at], dtype=np.float64).reshape(-1)
    p = np.exp(logits - logits.max())
    return float(p[candidates].sum() / p.sum())


def last_word_at(tokenizer: Any, text: str) -> int | None:
    """The index of the last word's first token in `tokenizer.encode(" " + text)`, or None for one word."""
    words = text.strip().rstrip("?!.,…\"' ").split()
    if len(words) < 2:
        return None
    return len(tokenizer.encode(" " + " ".join(words[:-1])))
