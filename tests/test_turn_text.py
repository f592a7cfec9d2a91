"""The words' half of the end-of-turn decision: cues that the speaker is going on, and none on finished turns."""

from __future__ import annotations

import pytest

from realtime.turn_text import is_answer, unfinished_cue

UNFINISHED = [
    "And so, my fellow Americans,",
    "And so, my fellow Americans.",  # Whisper's period after a fragment opening with "And so", no verb yet
    "And so my fellow Americans",
    "And so am I fellow Americans.",  # tiny.en's "so my" at about half of the cut points of jfk.flac's pause
    "And so am I fellow American.",
    "But so am I dear friends,",
    "And so am I, fellow American.",  # the same in 40 dB of room noise, with a comma (audio P 0.96)
    "And so am I, my friend.",  # the price: a rare vocative after "so am I" waits too
    "ask not...",
    "Ask not…",
    "I need to buy milk, eggs, and",
    "I need to buy milk, eggs, and.",
    "My favourite films are,",
    "My favourite films are.",
    "The thing I really want to know is",
    "The thing I really want to know is.",
    "I want to go to the",
    "Can you tell me about the",
    "So I was, um",
    "So I was, um.",
    "It was a very",
    "I'd like to book a flight to",
    "But the thing",
    "But the thing.",
    "If it rains tomorrow",
    "When you get home.",
    "I was thinking that we could maybe -",
    "Let me think; the best option is",
    "Put it next to my",
    "The meeting is at",
    "Compare this with",
    "I was thinking that.",  # Piper's "I was thinking that [0.8 s] we could go": Smart Turn P 0.02-0.67
    "I hope that",
    "I'm not sure that.",
    "And then my brother.", "But we", "And I", "And you guys",
]

FINISHED = [
    "Yes.", "No.", "Paris.", "Okay.", "Thanks!", "Sure, why not?",
    "What time is it?", "Where are you from?", "What is it for?", "Who are you talking to?",
    "What's the weather like?", "Is it this or that?",
    "I think so.", "Me too.", "I would love to.", "I have to.", "That is what it is.",
    "I know who you are.", "Here we are.", "Turn it on.", "Come in.", "It's over.",
    "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country.",
    "Set a timer for ten minutes.", "Tell me a joke.", "But I already did that.", "And then it stopped working.",
    "If so, great.", "", "   ",
    "And so am I.", "So am I.", "So am I, and so is she.", "And so am I, but not today.",
    "I know that.", "I did that.", "Can you do that?", "Is it true that?", "I like that.",
    # a verb no list holds, after its subject; a number as the complement (both waited the 1.8 s limit)
    "And so my friends, we begin again tomorrow.", "And they say it works.", "The answer to the question is 42.",
    "The answer is, 42.", "My locker number is 1234.",
]


@pytest.mark.parametrize("text", UNFINISHED)
def test_unfinished_words_have_a_cue(text: str) -> None:
    assert unfinished_cue(text) is not None, text


@pytest.mark.parametrize("text", FINISHED)
def test_finished_words_have_no_cue(text: str) -> None:
    assert unfinished_cue(text) is None, (text, unfinished_cue(text))


def test_the_cue_says_why() -> None:
    assert unfinished_cue("milk, eggs, and") == "ends on 'and'"
    assert unfinished_cue("ask not...") == "trailing ellipsis"
    assert "no verb" in (unfinished_cue("And so my fellow Americans.") or "")


def test_a_word_cue_is_named_before_the_ellipsis() -> None:
    """The ellipsis is the weakest cue (an audio model that is sure overrules it), so a word cue comes first."""
    assert unfinished_cue("milk, eggs, and...") == "ends on 'and'"
    assert unfinished_cue("The answer is…") == "ends on 'is' without its complement"
    assert unfinished_cue("I want to...") == "trailing ellipsis"
    assert unfinished_cue("Next song...") == "trailing ellipsis"
    assert unfinished_cue("Let me think,") == "trailing ','"
    assert unfinished_cue("milk, eggs, and,") == "ends on 'and'"
    assert unfinished_cue("So the plan is,") == "ends on 'is' without its complement"


def test_a_short_whole_answer_has_no_cue_however_whisper_punctuates_it() -> None:
    """Primed with the pause prompt, Whisper writes "Yes..." for a plain "Yes." (espeak-ng en-us+m3)."""
    for text in ("Yes...", "Yes,", "No, no.", "Yes, please...", "Thank you,", "Not really...", "Sure."):
        assert unfinished_cue(text) is None and is_answer(text), text
    for text in ("Okay...", "Well...", "Hi,", "Yes, and...", "So...", "Right,", "Yes but", "Tomorrow..."):
        assert not is_answer(text), text
    assert unfinished_cue("Yes, and...") == "ends on 'and'" and unfinished_cue("Okay...") == "trailing ellipsis"
