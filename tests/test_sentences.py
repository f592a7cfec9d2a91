"""The splitter decides what the user hears first and where the voice pauses: table of tricky replies."""

from __future__ import annotations

import random

import pytest

from realtime.sentences import SentenceSplitter, speakable

CASES: list[tuple[str, str, list[str]]] = [
    ("eager first phrase at a comma",
     "Well, to be perfectly honest, I have never been to Paris. It is lovely in spring.",
     ["Well, to be perfectly honest,", "I have never been to Paris.", "It is lovely in spring."]),
    ("short first sentence is spoken alone",
     "Sure! Here is the plan. First we eat.",
     ["Sure!", "Here is the plan.", "First we eat."]),
    ("eager cut after a few words without punctuation",
     "The weather in Paris today is lovely and warm so you should go outside.",
     ["The weather in Paris today is lovely", "and warm so you should go outside."]),
    ("later phrases keep their commas",
     "Hi. Apples, pears, and plums are all fruit, of course.",
     ["Hi.", "Apples, pears, and plums are all fruit, of course."]),
    ("titles and latin abbreviations",
     "Okay. Dr. Smith and Mr. Jones met Mrs. Brown, e.g. at lunch, i.e. noon. Then they left.",
     ["Okay.", "Dr. Smith and Mr. Jones met Mrs. Brown, e.g. at lunch, i.e. noon.", "Then they left."]),
    ("decimals and times",
     "Yes. Pi is about 3.14 and the train leaves at 10:30 sharp. It costs $4.50.",
     ["Yes.", "Pi is about 3.14 and the train leaves at 10:30 sharp.", "It costs $4.50."]),
    ("p.m. mid-sentence vs at a sentence end",
     "Right. We meet at 5 p.m. tomorrow. The bus leaves at 6 p.m. Bring snacks, crisps, etc. and water.",
     ["Right.", "We meet at 5 p.m. tomorrow.", "The bus leaves at 6 p.m.",
      "Bring snacks, crisps, etc. and water."]),
    ("URLs are read as their site and never split",
     "Look here. See https://www.example.com/docs/v1.2/page.html for details. Or www.python.org today.",
     ["Look here.", "See example.com for details.", "Or python.org today."]),
    ("e-mail addresses",
     "Got it. Write to jane.doe@mail.example.org. She answers fast.",
     ["Got it.", "Write to jane.doe at mail.example.org.", "She answers fast."]),
    ("code block replaced by nothing, text around it kept",
     "Here is the code:\n```python\nprint('Hi. There.')\nx = 3.5\n```\nThat prints a greeting.",
     ["Here is the code:", "That prints a greeting."]),
    ("markdown and emoji are not read",
     "## Summary\n**Great** job 🎉! Use `pip install` and *relax*. 👍\n- first point\n- second point",
     ["Summary", "Great job!", "Use pip install and relax.", "first point", "second point"]),
    ("numbered list",
     "Two steps:\n1. Open the box.\n2. Take the cake.",
     ["Two steps:", "Open the box.", "Take the cake."]),
    ("quotes and brackets close the sentence",
     "Fine. He said \"stop.\" Then (quietly) he left. Really?! Yes...",
     ["Fine.", "He said \"stop.\"", "Then (quietly) he left.", "Really?!", "Yes..."]),
    ("markdown link reads its text",
     "Sure. Read [the guide](https://example.com/guide) first.",
     ["Sure.", "Read the guide first."]),
    ("unfinished reply is flushed",
     "Okay. And then",
     ["Okay.", "And then"]),
]


def _whole(text: str) -> list[str]:
    sp = SentenceSplitter()
    return sp.push(text) + sp.flush()


def _pieces(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    sp = SentenceSplitter()
    out: list[str] = []
    i = 0
    while i < len(text):
        k = rng.randint(1, 6)
        out += sp.push(text[i:i + k])
        i += k
    return out + sp.flush()


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_phrases(name: str, text: str, expected: list[str]) -> None:
    assert _whole(text) == expected


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_token_by_token_gives_the_same_phrases(name: str, text: str, expected: list[str]) -> None:
    for seed in range(25):
        assert _pieces(text, seed) == expected, f"seed {seed}"


def test_first_phrase_is_ready_before_the_sentence_ends() -> None:
    sp = SentenceSplitter()
    got = sp.push("Well, to be perfectly honest, I have")
    assert got == ["Well, to be perfectly honest,"]


def test_nothing_is_spoken_while_a_cut_is_undecided() -> None:
    sp = SentenceSplitter()
    assert sp.push("Okay. Dr") == ["Okay."]
    assert sp.push(".") == []  # could still be "Dr. Smith"
    assert sp.push(" Smith is in") == []
    assert sp.push(". ") == []  # the next word decides (it might be "p.m. tomorrow"-like)
    assert sp.push("Bye") == ["Dr. Smith is in."]
    assert sp.flush() == ["Bye"]


def test_long_sentence_is_cut_at_a_clause_break() -> None:
    sp = SentenceSplitter(max_chars=80)
    text = ("Hi. " + "This sentence keeps going for quite a while, with a clause here and another one there, "
            "and it never seems to stop because the model likes long sentences very much.")
    phrases = sp.push(text) + sp.flush()
    assert phrases[0] == "Hi."
    assert all(len(p) <= 81 for p in phrases)
    assert phrases[1].endswith(",")
    assert " ".join(phrases[1:]).replace("  ", " ") == text[4:]


def test_splitter_is_reusable_after_flush() -> None:
    sp = SentenceSplitter()
    assert sp.push("Well, to be perfectly honest, yes. No.") + sp.flush() == \
        ["Well, to be perfectly honest,", "yes.", "No."]
    assert sp.push("Well, to be perfectly honest, yes.") == ["Well, to be perfectly honest,"]


def test_code_phrase_option() -> None:
    sp = SentenceSplitter(code_phrase="The code is on screen.")
    assert sp.push("Try this:\n```\nx = 1\n```\nDone.") + sp.flush() == \
        ["Try this:", "The code is on screen.", "Done."]


def test_unclosed_code_block_is_never_read() -> None:
    sp = SentenceSplitter()
    assert sp.push("Here:\n```python\nprint('a. b. c.')\nmore code") == ["Here:"]
    assert sp.flush() == []


@pytest.mark.parametrize(("raw", "spoken"), [
    ("**bold** and __strong__ and *it* and _em_", "bold and strong and it and em"),
    ("snake_case_name stays", "snake_case_name stays"),
    ("Visit https://github.com/org/repo?x=1.", "Visit github.com."),
    ("mail bob@example.com now", "mail bob at example.com now"),
    ("It is 25°C ☀️ 😀👍🏽", "It is 25°C"),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "a, b, 1, 2,"),
    ("🎉🎉", ""),
    ("```\ncode\n```", ""),
])
def test_speakable(raw: str, spoken: str) -> None:
    assert speakable(raw) == spoken
