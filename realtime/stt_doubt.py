"""Could Whisper have written a whole sentence where the speaker stopped mid-way? The ending's doubt.

tiny.en completes a fragment at a pause. "Can you tell me about the [1 s] history of the bridge?" is written "Can
you tell me about that?" (or "...this?", "...me?"), and a question ends the turn on its words; "Set a timer for
[1 s] ten minutes" is written "Set a timer for it.", and the audio agrees it is over. Whisper's best path hides
what its decoder heard. Forced along the transcript on the pause decode's own encoder output, the decoder's
distribution at the last word still holds the other readings:
- a dangling word in its place (questions only): " the" 0.05-0.45 at pauses after "about the" / "where is the"
  (Piper, median 0.17; espeak-ng voices 0.10-0.23), where finished questions get at most 0.005 (Piper) and 0.05
  (espeak-ng, one 0.11). On statements it does not separate ("...stay at home." 0.10 with " the");
- no last word at all, where the words before it carry a cue of going on: "Set a timer for it." 0.20 (an end mark
  in place of "it"), finished sentences at most 0.02 (four voices, 77 sentences with such a cue before the
  last word).
Their sum is the doubt; `realtime.pauses` makes a doubted ending wait `turn.doubt_silence_ms`.

It costs one decoder pass over the prompt and the transcript (forced, nothing sampled): 35-55 ms on one core, run
beside the reply that is already being prepared.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from realtime.turn_text import QUESTION_DANGLING, is_question, unfinished_cue

# The words the rules call dangling even at the end of a question ("...and?", "...the?"), and "my", "your" (the
# doubt was measured with them); a preposition may end one ("Where are you from?").
DANGLING_AT_QUESTION_END = (*sorted(QUESTION_DANGLING), "my", "your")
END_MARKS = (".", "?", "!", ",", "...", " ...", "…")


def dangling_ids(tokenizer: Any) -> list[int]:
    """First tokens of the dangling words, as Whisper writes them inside a sentence and at its start."""
    return sorted({tokenizer.encode(" " + spelled)[0]
                   for word in DANGLING_AT_QUESTION_END for spelled in (word, word.capitalize())})


def end_ids(tokenizer: Any) -> list[int]:
    """The tokens that end the transcript where the last word stands: punctuation, or the end of text."""
    return sorted({tokenizer.encode(mark)[0] for mark in END_MARKS} | {tokenizer.eot})


def prompt_tokens(tokenizer: Any, prompt: str | None, max_length: int) -> list[int]:
    """The decoder prompt faster-whisper builds for `initial_prompt` and `without_timestamps=True`."""
    tokens: list[int] = []
    if prompt:
        tokens = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())[-(max_length // 2 - 1):]]
    return [*tokens, *tokenizer.sot_sequence, tokenizer.no_timestamps]


def words_before_last(text: str) -> str | None:
    """The transcript without its last word (None for one word: nothing to doubt)."""
    words = text.strip().rstrip("?!.,…\"' ").split()
    return " ".join(words[:-1]) if len(words) >= 2 else None


def distribution_at(ct2_model: Any, encoded: Any, prefix: list[int], text_ids: list[int], at: int) -> np.ndarray:
    """The decoder's probabilities for the token at `at` of the transcript, forced along `text_ids` after `prefix`
    (CTranslate2 returns the log-probabilities of every forced position)."""
    result = ct2_model.generate(encoded, [prefix + text_ids], beam_size=1, max_length=len(prefix) + len(text_ids),
                                return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])[0]
    steps = result.logits[0]
    if at >= len(steps):
        return np.zeros(0)
    logits = np.asarray(steps[at], dtype=np.float64).reshape(-1)
    p = np.exp(logits - logits.max())
    return np.asarray(p / p.sum())


def ending_doubt(p_last: np.ndarray, text: str, before: str, tokenizer: Any) -> float:
    """P(another reading of the last word leaves the words unfinished); `p_last` is the distribution there and
    `before` the words before it (`words_before_last`)."""
    if len(p_last) == 0:
        return 0.0
    doubt = 0.0
    if is_question(text):
        doubt += float(p_last[dangling_ids(tokenizer)].sum())
    if unfinished_cue(before) is not None:
        doubt += float(p_last[end_ids(tokenizer)].sum())
    return doubt
