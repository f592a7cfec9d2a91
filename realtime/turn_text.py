"""Has the speaker finished, judging from the words alone? The text half of the end-of-turn decision.

An audio model hears prosody, not grammar: it calls "And so my fellow Americans" (a falling pitch, a long
pause) finished. The transcript knows better: a fragment that opens with "And so" and has no verb yet, a
trailing comma or ellipsis, a conjunction, article or preposition at the end, a dangling "is/are" all say
the speaker is going on. This only ever votes *unfinished*; a short complete answer ("Yes.", "Paris.") has
no cue and does not wait.
"""

from __future__ import annotations

import itertools
import re

from realtime.speech_words import (
    COPULAS,
    OPENERS,
    PREPOSITIONS,
    PRONOUNS,
    QUESTION_OPENERS,
    SUBORDINATE,
    THAT_CLAUSE,
    TO_COMPLETE,
    TURN_DANGLING,
    VERBS,
)

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z0-9]+)*")  # "is 42." has its complement
_TRAILING_OPEN = re.compile(r"(,|;|:|-|–|—)\s*$")
# Whisper's guesses at a voice that goes on, not grammar: the weakest cues, the ones a sure audio model overrules
# ("Yes..." at P 0.98; Piper's "Yes." written "Yes," by Whisper primed with the pause prompt); any word cue is
# reported before them ("milk, eggs, and..." ends on 'and').
ELLIPSIS = "trailing ellipsis"
COMMA = "trailing ','"
PUNCTUATION_ONLY = (ELLIPSIS, COMMA)


# A whole answer on its own, however Whisper punctuates it: primed with the pause prompt it writes "Yes..." for a
# plain "Yes." (espeak-ng en-us+m3, audio P 0.11 at both looks: it waited the 1.8 s limit). Fillers that lead
# into more ("okay", "right", "well", "so", "hi") are not here; "yes, and..." has its word cue.
ANSWERS = {"yes", "yeah", "yep", "yup", "no", "nope", "nah", "sure", "thanks", "correct", "exactly", "absolutely",
           "definitely", "perfect", "great", "fine", "agreed", "please"}
ANSWER_PHRASES = {"thank you", "of course", "not really", "no thanks", "no thank you", "yes please", "never mind",
                  "sounds good", "not at all", "thank you very much"}

SUBJECTS = {"i", "you", "we", "they", "he", "she", "it"}
QUESTION_DANGLING = {"and", "or", "but", "the", "a", "an"}  # dangling even at a question's end ("...and the?")
_NO_VERB = TURN_DANGLING | PREPOSITIONS | PRONOUNS | {"all", "both", "too", "guys", "alone", "me", "us", "them"}


def _words(text: str) -> list[str]:
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


def _has_verb(words: list[str]) -> bool:
    """A rough clause test: a known verb, a contraction ("I'm", "it's", "don't"), a past tense in -ed, or a
    subject pronoun with a word after it that can be its verb ("we begin": VERBS cannot list them all)."""
    if any(w in VERBS or "'" in w or (len(w) > 4 and w.endswith("ed")) for w in words):
        return True
    return any(a in SUBJECTS and b not in _NO_VERB for a, b in itertools.pairwise(words))


# "so am I" run on into more words: Whisper tiny.en's reading of "so my ..." (/səmaɪ/), as in "And so am I fellow
# Americans." for Kennedy's "And so my fellow Americans" (at about half of the cut points of that pause). Its "am"
# is no verb. A comma does not make it a clause: in 40 dB of room noise tiny.en wrote "And so am I, fellow
# American." at that pause (audio P 0.96) and the turn was cut there. "And so am I." and "So am I, and so is she."
# keep their verb; the price is a rare "So am I, my friend." or "So am I really." waiting for the long limit.
_SO_MY = re.compile(r"\bso am i,? (?!(?:and|but|or)\b)(?=[a-z])")


def unfinished_cue(text: str) -> str | None:
    """Why the words so far look unfinished (a short reason for logs and the bench), or None."""
    stripped = text.strip().strip('"').strip()
    words = _words(_SO_MY.sub("so my ", stripped.lower()))
    if not words:
        return None
    ellipsis = stripped.endswith(("...", "…"))
    comma = stripped.endswith(",")
    if not ellipsis and not comma and _TRAILING_OPEN.search(stripped):
        return f"trailing {stripped[-1]!r}"
    if (cue := _word_cue(words, stripped)) is not None or _answer(words):
        return cue
    return ELLIPSIS if ellipsis else COMMA if comma else None


def is_answer(text: str) -> bool:
    """A short whole answer ("Yes...", "No, no.", "Yes, please.", "Thank you."): it ends the turn as a question
    does, whatever the audio says (the issue's "short complete answers do not wait")."""
    return _answer(_words(text))


def _answer(words: list[str]) -> bool:
    return " ".join(words) in ANSWER_PHRASES or (0 < len(words) <= 3 and all(w in ANSWERS for w in words))


def is_question(text: str) -> bool:
    """Whisper wrote a question mark at the end (a closing quote aside)."""
    return text.rstrip().rstrip('"').endswith("?")


def _word_cue(words: list[str], stripped: str) -> str | None:
    question = stripped.endswith("?")
    last = words[-1]
    if last in TURN_DANGLING and not (question and last not in QUESTION_DANGLING):
        return f"ends on {last!r}"
    if last == "that" and len(words) >= 2 and words[-2] in THAT_CLAUSE and not question:
        return f"ends on 'that' after {words[-2]!r}: its clause is still to come"
    if last == "to" and len(words) >= 2 and words[-2] in TO_COMPLETE:
        return None
    if last in PREPOSITIONS and not question and words[0] not in QUESTION_OPENERS:
        return f"ends on the preposition {last!r}"
    if last in COPULAS and not question and (len(words) < 2 or words[-2] not in PRONOUNS):
        return f"ends on {last!r} without its complement"
    if len(words) >= 2 and not question:
        opener = words[0]
        if opener in OPENERS and not _has_verb(words[1:]):
            return f"a fragment opening with {opener!r} and no verb yet"
        if opener in SUBORDINATE and "," not in stripped and len(words) <= 8:
            return f"a clause opening with {opener!r} and no main clause yet"
    return None
