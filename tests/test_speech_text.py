"""The speech normalizer: what the voice is given to say, case by hostile case, never a symbol or a lost word."""

from __future__ import annotations

import re

import pytest

from realtime.sentences import SentenceSplitter
from realtime.speech_text import number_words, to_spoken, year_words

CASES: list[tuple[str, str]] = [
    # numbers survive, whatever their place in the phrase
    ("42.", "forty-two."),
    ("What is 6 times 7? 42. Easy one.", "What is six times seven? forty-two. Easy one."),
    ("1,250 people came.", "one thousand two hundred and fifty people came."),
    ("Pi is 3.14.", "Pi is three point one four."),
    ("Agent 007", "Agent zero zero seven"),
    ("Version 3.11.2", "Version three point eleven point two"),
    ("It was -5 outside.", "It was minus five outside."),
    # years and decades
    ("Sure. 2024. That was it.", "Sure. twenty twenty-four. That was it."),
    ("Born in 1985, not 2000 people.", "Born in nineteen eighty-five, not two thousand people."),
    ("The 1990s and the 80s", "The nineteen nineties and the eighties"),
    ("from 1990-1995", "from nineteen ninety to nineteen ninety-five"),
    # titles and abbreviations lose their periods
    ("Dr. Smith and Mr. Jones met Mrs. Brown.", "Doctor Smith and Mister Jones met Missus Brown."),
    ("Ms. Lee and Prof. Wu", "Miz Lee and Professor Wu"),
    ("St. Louis is on Main St.", "Saint Louis is on Main Street."),
    ("221B Baker St. is famous.", "two hundred and twenty-one B Baker Street is famous."),
    ("In Q3 the MP3 sold", "In Q three the MP three sold"),
    ("Climb Mt. Everest with Sgt. Pepper.", "Climb Mount Everest with Sergeant Pepper."),
    ("Lakers vs. Celtics", "Lakers versus Celtics"),
    ("She has a Ph.D. from the U.S.A.", "She has a P H D from the U S A."),
    ("Fruit, e.g. apples, i.e. food, etc.", "Fruit, for example apples, that is food, et cetera."),
    ("Add 2 tsp. of salt and bake 20 min.", "Add two teaspoons of salt and bake twenty minutes."),
    ("Bake 1 min. Then stir.", "Bake one minute. Then stir."),
    ("Call ext. 12 now.", "Call extension twelve now."),
    ("Das ist z.B. gut.", "Das ist zum Beispiel gut."),
    ("See No. 5, but No. I won't.", "See number five, but No. I won't."),
    ("5th Ave. and Sunset Blvd.", "fifth Avenue and Sunset Boulevard."),
    # money
    ("It costs $4.99.", "It costs four dollars and ninety-nine cents."),
    ("$1 or $0.99 or $1.01", "one dollar or ninety-nine cents or one dollar and one cent"),
    ("€1,250.50 and £5", "one thousand two hundred and fifty euros and fifty cents and five pounds"),
    ("$3.5 million and $2B", "three point five million dollars and two billion dollars"),
    ("10 EUR", "ten euros"),
    # times and dates
    ("Meet at 5:30.", "Meet at five thirty."),
    ("Meet at 5.30 p.m. today", "Meet at five thirty P M today"),
    ("At 6 p.m. Bring snacks.", "At six P M. Bring snacks."),
    ("The 12:05 train, 9am, 10:00 PM, 17:45", "The twelve oh five train, nine A M, ten P M, seventeen forty-five"),
    ("The meeting is at 3:00.", "The meeting is at three o'clock."),
    ("On 2024-03-15", "On March fifteenth, twenty twenty-four"),
    ("Born March 3 in 1985", "Born March third in nineteen eighty-five"),
    # ranges, approximations, operators
    ("Take 3-5 pills, 10–20 min", "Take three to five pills, ten to twenty minutes"),
    ("~5 minutes, ≈ 10", "about five minutes, approximately ten"),
    ("3 * 4 = 12", "three times four equals twelve"),
    ("3 x 4, 3×4, 10 / 2, 2^10", "three times four, three times four, ten divided by two, two to the power of ten"),
    ("5 - 3 = 2 and 3 + 4", "five minus three equals two and three plus four"),
    ("5 < 7, 7 > 5, x != y", "five is less than seven, seven is greater than five, x is not equal to y"),
    ("Score 3:1", "Score three to one"),
    ("1/2 cup and 3/4 mile and 2/3", "one half cup and three quarters mile and two thirds"),
    # ordinals, percentages, units
    ("1st, 2nd, 3rd and 22nd", "first, second, third and twenty-second"),
    ("Up 12% or 3.5 %", "Up twelve percent or three point five percent"),
    ("25°C or 77 °F, 90°", "twenty-five degrees Celsius or seventy-seven degrees Fahrenheit, ninety degrees"),
    ("10 km, 1 km, 60 mph, 16 GB, 5 kg", "ten kilometers, one kilometer, sixty miles per hour, sixteen gigabytes, "
                                         "five kilograms"),
    ("a 2x speedup, 24/7", "a two times speedup, twenty-four seven"),
    # phone numbers are read digit by digit
    ("Call 555-123-4567.", "Call five five five, one two three, four five six seven."),
    # web addresses and e-mail
    ("See example.com or docs.python.org.", "See example dot com or docs dot python dot org."),
    ("Visit https://github.com/org/repo?x=1.", "Visit github dot com."),
    ("Write to jane.doe@mail.example.org", "Write to jane dot doe at mail dot example dot org"),
    ("Write to jane.doe at mail.example.org.", "Write to jane dot doe at mail dot example dot org."),
    # symbols and markdown are never read
    ("#1 fan & C++ and/or TCP/IP", "number one fan and C plus plus and or TCP IP"),
    ("**bold** # heading _x_ `code` | cell", "bold heading x code, cell"),
    ("Step 2 -> done", "Step two to done"),
    ("yes/no - maybe — sure", "yes or no, maybe, sure"),
    ("Great job 🎉!", "Great job!"),
    # CJK punctuation becomes pauses the voice knows
    ("你好。再见！", "你好. 再见!"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES, ids=[c[0] for c in CASES])
def test_to_spoken(written: str, spoken: str) -> None:
    assert to_spoken(written) == spoken


@pytest.mark.parametrize(("written", "spoken"), CASES, ids=[c[0] for c in CASES])
def test_normalizing_twice_changes_nothing(written: str, spoken: str) -> None:
    assert to_spoken(spoken) == spoken


SYMBOLS = re.compile(r"[$£€¥%*#_`~^|<>=+\[\]{}\\/@&°]|\d")
HOSTILE = [
    "What is 6 times 7? 42. Easy one.",
    "Sure. 2024. That was the year.",
    "Here:\n1. Mix 2 tsp. sugar with 1/2 cup of milk.\n2. Bake at 350°F for 20-25 min.\n3. Serve at 5:30 p.m.",
    "**Total:** $1,234.56 (≈ €1,100) for 3 nights, i.e. ~$411/night.",
    "Dr. Who met Sgt. Pepper on St. Patrick's Day at 221B Baker St. in the U.K. at 9 a.m. sharp.",
    "## Tips\n- Drink 2 L of water\n- Sleep 7-9 hrs\n- Walk 10,000 steps (≈ 8 km)",
    "The formula is E = mc^2, and 2 + 2 = 4 while 10 / 4 = 2.5.",
    "Call +1 555-123-4567 or mail help@support.example.com, ext. 4521.",
    "In Q3 2024 revenue rose 12.5% YoY to $3.2B; see https://investors.example.com/q3.",
    "Mt. St. Helens erupted on 1980-05-18 at 8:32 a.m., vs. ~3 eruptions since.",
]


@pytest.mark.parametrize("reply", HOSTILE)
def test_no_digit_or_symbol_reaches_the_voice_and_no_word_is_lost(reply: str) -> None:
    sp = SentenceSplitter()
    phrases = sp.push(reply) + sp.flush()
    spoken = [to_spoken(p) for p in phrases]
    for phrase, said in zip(phrases, spoken, strict=True):
        assert said, f"{phrase!r} became silent"
        assert not SYMBOLS.search(said), f"{phrase!r} -> {said!r} still has a symbol or digit"
    # every plain word of the reply is still said (numbers and symbols become other words)
    plain = {w for w in re.findall(r"\b[A-Za-z]{4,}\b", reply) if not w.isupper()} - {"https", "night"}
    said_words = set(re.findall(r"[A-Za-z]+", " ".join(spoken)))
    assert plain <= said_words, f"lost: {plain - said_words}"


def test_number_words_helpers() -> None:
    assert number_words("1,000,000") == "one million"
    assert number_words("0.5") == "zero point five"
    assert number_words("12345678901234567") == "one two three four five six seven eight nine zero one two three " \
                                                "four five six seven"
    assert year_words("1905") == "nineteen oh five"
    assert year_words("2005") == "two thousand and five"


def test_displayed_text_is_not_what_is_spoken_and_nothing_is_invented() -> None:
    assert to_spoken("") == ""
    assert to_spoken("   ") == ""
    assert to_spoken("Hello there.") == "Hello there."
    assert to_spoken("No. Never.") == "No. Never."
