"""Written text -> the words a voice should say: the one speech normalizer between the splitter and the voices.

Voices disagree on symbols (Piper reads "$4.99" as "dollar four point nine nine" and each abbreviation period as
a sentence end), so every phrase is turned into plain words here, once, before any voice sees it: numbers,
money, times, dates, ranges, operators, ordinals, percentages and units are spelled out (num2words does the
number words, in English), abbreviations lose their periods, web addresses are read as "name dot com", and
markdown symbols are never read. The displayed text is left as the model wrote it; only the spoken text changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

from realtime.speech_words import (
    CURRENCIES,
    CURRENCY_CODES,
    MONTHS,
    NEVER_END,
    SCALES,
    TITLES,
    TLDS,
    UNIT_AFTER_NUMBER,
    UNITS,
    WORDS,
    YEAR_CUES,
)

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)"  # 1,250 or 1250
_END = "\"')]}”’»"


def number_words(digits: str) -> str:
    """'1,250' -> 'one thousand two hundred and fifty'; '3.14' -> 'three point one four'; '007' digit by digit."""
    whole, _, frac = digits.replace(",", "").partition(".")
    if not whole:
        whole = "0"
    if (len(whole) > 1 and whole.startswith("0")) or len(whole) > 15:
        words = " ".join(_DIGITS[d] for d in whole)
    else:
        words = _clean(num2words(int(whole)))
    if frac:
        words += " point " + " ".join(_DIGITS[d] for d in frac)
    return words


def year_words(digits: str) -> str:
    """'1999' -> 'nineteen ninety-nine'; '2005' -> 'two thousand and five'."""
    return _clean(num2words(int(digits), to="year")).replace("oh-", "oh ")


def ordinal_words(digits: str) -> str:
    return _clean(num2words(int(digits.replace(",", "")), to="ordinal"))


def _clean(words: str) -> str:
    return words.replace(",", "")


_DIGITS = dict(zip("0123456789", ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
                   strict=True))
_FRACTIONS = {2: ("half", "halves"), 4: ("quarter", "quarters")}


def _sentence_end_after(m: re.Match[str]) -> str:
    """'.' when the abbreviation's period just matched also ends the sentence (end of text, or a capital next)."""
    if not m.group(0).endswith("."):
        return ""
    rest = m.string[m.end():].lstrip(_END)
    if not rest.strip():
        return "."
    nxt = rest.lstrip()
    return "." if rest[:1].isspace() and nxt[:1].isupper() else ""


def _plural(value: str, pair: tuple[str, str]) -> str:
    return pair[0] if value.replace(",", "") in ("1", "1.0") else pair[1]


# --- web addresses and markup -------------------------------------------------------------------------
def _domain(host: str) -> str:
    host = host.removeprefix("www.").removeprefix("WWW.")
    return " dot ".join(p for p in host.split(".") if p)


def _url(m: re.Match[str]) -> str:
    return _domain(m.group(1))


def _email(m: re.Match[str]) -> str:
    return f"{_domain(m.group(1))} at {_domain(m.group(2))}"


def _bare_domain(m: re.Match[str]) -> str:
    return _domain(m.group(0)) if m.group(0).rsplit(".", 1)[-1].lower() in TLDS else m.group(0)


_WEB: list[_Rule] = [
    (re.compile(r"\b(?:https?://|www\.)([^\s/?#<>\"')\]]+)[^\s<>\"')\]]*?(?=[.,;:!?]*(?:\s|$))", re.I), _url),
    (re.compile(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b"), _email),
    (re.compile(r"\b([\w.+-]+) at ([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})\b"), _email),
    (re.compile(r"(?<![\w@.])[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)+(?![\w@])"), _bare_domain),
]


# --- abbreviations ------------------------------------------------------------------------------------
def _saint_or_street(m: re.Match[str]) -> str:
    """'St. Louis' is Saint; 'Main St.' and '221B Baker St. is' are Street."""
    before = m.string[:m.start()].rstrip()
    prev = before.split()[-1] if before.split() else ""
    after = m.string[m.end():].lstrip()
    if prev[:1].isupper() or prev[:1].isdigit() or not after[:1].isupper():
        return "Street" + _sentence_end_after(m)
    return "Saint"


def _abbreviation(m: re.Match[str]) -> str:
    key = m.group(1).lower()
    if key == "st":
        return _saint_or_street(m)
    if key in TITLES:
        return TITLES[key]
    nxt = m.string[m.end():].lstrip()
    if key in ("no", "nos", "p") and not nxt[:1].isdigit():
        return m.group(0)  # "No." the answer, "p." a letter: leave it
    before = m.string[:m.start()].split()
    if key in UNIT_AFTER_NUMBER and before and re.fullmatch(r"[\d.,]+", before[-1]):
        return _plural(before[-1], UNIT_AFTER_NUMBER[key]) + _sentence_end_after(m)
    words = WORDS[key]
    if key in NEVER_END:
        return words
    opens = not m.string[:m.start()].strip() or m.string[:m.start()].rstrip()[-1] in ".!?"
    if opens and words[:1].islower():
        words = words[0].upper() + words[1:]
    return words + _sentence_end_after(m)


def _acronym(m: re.Match[str]) -> str:
    """'U.S.A.' -> 'U S A', 'Ph.D.' -> 'P H D': letters, not periods the voice takes for sentence ends."""
    letters = [c.upper() for c in m.group(0) if c.isalpha()]
    return " ".join(letters) + _sentence_end_after(m)


_ABBR_KEYS = sorted(set(TITLES) | set(WORDS) | {"st"}, key=len, reverse=True)
_ABBREVIATIONS: list[_Rule] = [
    (re.compile(r"(?<![\w.])(" + "|".join(re.escape(k) for k in _ABBR_KEYS) + r")\.(?=\s|$|[,;:)])", re.I),
     _abbreviation),
    (re.compile(r"(?<![\w.])(?:Ph\.D|[A-Za-z]\.(?:[A-Za-z]\.)+[A-Za-z]?)\.?(?![\w])"), _acronym),
]


# --- numbers ------------------------------------------------------------------------------------------
def _money(m: re.Match[str]) -> str:
    sym = m.group("sym") or CURRENCY_CODES[m.group("code")]
    amount, scale = m.group("amt") or m.group("amt2"), m.group("scale")
    one, many, cent, cents = CURRENCIES[sym]
    if scale:
        return f"{number_words(amount)} {SCALES[scale]} {many}"
    whole, _, frac = amount.replace(",", "").partition(".")
    parts = []
    if int(whole or "0") or not frac or not cent:
        parts.append(f"{number_words(whole or '0')} {_plural(whole, (one, many))}")
    if frac and cent and int(frac.ljust(2, "0")[:2]):
        c = str(int(frac.ljust(2, "0")[:2]))
        parts.append(f"{number_words(c)} {_plural(c, (cent, cents))}")
    return " and ".join(parts)


def _ampm(tag: str | None) -> str:
    return f" {tag[0].upper()} M" if tag else ""


def _time(m: re.Match[str]) -> str:
    hour, minute, tag = int(m.group("h")), int(m.group("m")), m.group("ap")
    words = number_words(str(hour))
    if minute == 0:
        words += "" if tag else " o'clock"
    elif minute < 10:
        words += " oh " + number_words(str(minute))
    else:
        words += " " + number_words(str(minute))
    return words + _ampm(tag) + _sentence_end_after(m)


def _hour(m: re.Match[str]) -> str:
    return number_words(m.group("h")) + _ampm(m.group("ap")) + _sentence_end_after(m)


def _iso_date(m: re.Match[str]) -> str:
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return f"{MONTHS[month - 1]} {ordinal_words(str(day))}, {year_words(year)}"


def _phone(m: re.Match[str]) -> str:
    groups = re.findall(r"\d+", m.group(0))
    return ", ".join(" ".join(_DIGITS[d] for d in g) for g in groups)


def _value(v: str) -> str:
    """A number that may be a year when it stands in a range of years ('1990-1995')."""
    return year_words(v) if re.fullmatch(r"1[1-9]\d\d|20\d\d", v) else number_words(v)


def _range(m: re.Match[str]) -> str:
    a, b, unit = m.group(1), m.group(2), m.group(3)
    if unit:
        pair = UNITS.get(unit) or UNIT_AFTER_NUMBER[unit.lower()]
        return f"{number_words(a)} to {number_words(b)} {pair[1]}" + _sentence_end_after(m)
    if len(a) == 4 and len(b) == 4:
        return f"{_value(a)} to {_value(b)}"
    return f"{number_words(a)} to {number_words(b)}"


def _fraction(m: re.Match[str]) -> str:
    num, den = int(m.group(1)), int(m.group(2))
    if not 0 < num < den <= 16:
        return f"{number_words(m.group(1))} over {number_words(m.group(2))}"
    if den in _FRACTIONS:
        name = _FRACTIONS[den][0 if num == 1 else 1]
    else:
        name = ordinal_words(str(den)) + ("" if num == 1 else "s")
    return f"{number_words(str(num))} {name}"


def _unit(m: re.Match[str]) -> str:
    value, unit = m.group(1), m.group(2)
    pair = UNITS.get(unit) or UNIT_AFTER_NUMBER[unit.lower()]
    return f"{number_words(value)} {_plural(value, pair)}" + _sentence_end_after(m)


def _decade(m: re.Match[str]) -> str:
    words = year_words(m.group(1)) if len(m.group(1)) == 4 else number_words(m.group(1))
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _plain_number(m: re.Match[str]) -> str:
    digits = m.group(2)
    sign = "minus " if m.group(1) else ""
    before = m.string[:m.start()].split()
    prev = before[-1].lower().strip("(\"'") if before else ""
    after = m.string[m.end():]
    if not sign and "," not in digits and "." not in digits and re.fullmatch(r"1[1-9]\d\d|20\d\d", digits) and (
            prev in YEAR_CUES or not after.strip() or after[:1] in ".,;:!?)"):
        words = year_words(digits)
    else:
        words = sign + number_words(digits)
    return words + (" " if after[:1].isalpha() else "")


_UNIT_KEYS = sorted(set(UNITS) | set(UNIT_AFTER_NUMBER), key=len, reverse=True)
_UNITS_RE = "|".join(re.escape(u) for u in _UNIT_KEYS)
_TIMES: list[_Rule] = [
    (re.compile(r"(?<![\d.])(?P<h>[01]?\d|2[0-3])[:.](?P<m>[0-5]\d)\s?(?P<ap>[ap])\.?m\b\.?", re.I), _time),
    (re.compile(r"(?<![\d.:])(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?P<ap>)(?![\d:])"), _time),
    (re.compile(r"(?<![\d.])(?P<h>1[0-2]|0?\d)\s?(?P<ap>[ap])\.?m\b\.?", re.I), _hour),
]
_N = rf"(?<![\w.,])({_NUM}(?:\.\d+)?)"
_NUMBERS: list[_Rule] = [
    (re.compile(rf"(?:(?P<sym>[$£€¥₹])\s?(?P<amt>{_NUM}(?:\.\d+)?|\.\d+)|(?P<amt2>{_NUM}(?:\.\d+)?)\s?"
                rf"(?P<code>USD|EUR|GBP|JPY|INR)\b)(?:\s?(?P<scale>[kKmMbB]n?|million|billion|thousand|trillion|tn)\b)?"),
     _money),
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), _iso_date),
    (re.compile(r"(?:\(\d{3}\)\s?|\b\d{3}[-.\s])\d{3}[-.]\d{4}\b|\b\d{3}-\d{4}\b|\b\d+(?:-\d+){2,}\b"), _phone),
    (re.compile(rf"\b({'|'.join(MONTHS)})\s(\d{{1,2}})(?![\d:])(?:st|nd|rd|th)?\b"),
     lambda m: f"{m.group(1)} {ordinal_words(m.group(2))}"),
    (re.compile(r"(?<![\w.-])(\d+(?:\.\d+)?)(?:-|\s?[–—]\s?)(\d+(?:\.\d+)?)(?![\d-])"
                rf"(?:\s?({_UNITS_RE})(?![\w/])\.?)?"), _range),
    (re.compile(r"(?<![\w/])(\d{1,2})/(\d{1,2})(?![\w/])"), _fraction),
    (re.compile(r"\b(\d+)(?:st|nd|rd|th)\b"), lambda m: ordinal_words(m.group(1))),
    (re.compile(rf"{_N}\s?%"), lambda m: f"{number_words(m.group(1))} percent"),
    (re.compile(rf"{_N}\s?°\s?([CF])\b"),
     lambda m: f"{number_words(m.group(1))} degrees {'Celsius' if m.group(2) == 'C' else 'Fahrenheit'}"),
    (re.compile(rf"{_N}\s?°"), lambda m: f"{number_words(m.group(1))} degrees"),
    (re.compile(r"\b(\d{2}|1\d{3}|20\d{2})'?s\b"), _decade),
    (re.compile(rf"{_N}\s?({_UNITS_RE})(?![\w/])\.?"), _unit),
    (re.compile(r"\b(\d+)x\b"), lambda m: f"{number_words(m.group(1))} times"),
    (re.compile(r"(?<=[A-Za-z])(?=\d)"), lambda m: " "),  # "Q3", "MP3", "B2B": the letters, then the number
    (re.compile(r"\b(\d+(?:\.\d+){2,})\b"), lambda m: " point ".join(number_words(p) for p in m.group(1).split("."))),
    (re.compile(rf"(?<![\w.,])([-−])?({_NUM}(?:\.\d+)?|\.\d+)(?!\d)"), _plain_number),
]

# --- operators and symbols ----------------------------------------------------------------------------
_D = r"(?<=[\d)])"  # after a number (or a closing bracket)
_A = r"(?=\s*[-−]?[\d($.])"  # before a number
_OPERATORS: list[_Rule] = [
    (re.compile(r"\s*(?:->|=>|→|⇒)\s*"), lambda m: " to "),
    (re.compile(r"#(?=\d)"), lambda m: "number "),
    (re.compile(r"~\s?(?=[-−]?[\d$£€¥₹.])"), lambda m: "about "),
    (re.compile(r"\s*≈\s*"), lambda m: " approximately "),
    (re.compile(r"\s*±\s*"), lambda m: " plus or minus "),
    (re.compile(rf"{_D}\s*(?:[*×·]|\s[xX]\s)\s*{_A}"), lambda m: " times "),
    (re.compile(rf"{_D}\s*(?:\s/\s|÷)\s*{_A}"), lambda m: " divided by "),
    (re.compile(rf"{_D}\s+[-−]\s+{_A}"), lambda m: " minus "),
    (re.compile(rf"{_D}\s*\+\s*{_A}"), lambda m: " plus "),
    (re.compile(rf"{_D}\s*\^\s*{_A}"), lambda m: " to the power of "),
    (re.compile(r"\s*(?:≠|!=)\s*"), lambda m: " is not equal to "),
    (re.compile(r"\s*(?:≤|<=)\s*"), lambda m: " is less than or equal to "),
    (re.compile(r"\s*(?:≥|>=)\s*"), lambda m: " is greater than or equal to "),
    (re.compile(r"\s+<\s+"), lambda m: " is less than "),
    (re.compile(r"\s+>\s+"), lambda m: " is greater than "),
    (re.compile(r"\s*==?\s*"), lambda m: " equals "),
    (re.compile(r"(?<![\w/])24/7(?![\w/])"), lambda m: "twenty-four seven"),
    (re.compile(r"(?<=\w)\+\+"), lambda m: " plus plus"),
    (re.compile(r"(?<=\d):(?=\d)"), lambda m: " to "),
    (re.compile(r"\band/or\b"), lambda m: "and or"),
]
_SYMBOLS: list[_Rule] = [
    (re.compile(r"\s*&\s*"), lambda m: " and "),
    (re.compile(r"(?<=\w)@(?=\w)"), lambda m: " at "),
    (re.compile(r"\s*%"), lambda m: " percent"),
    (re.compile(r"\s+\+\s+|(?<=\s)\+(?=\w)"), lambda m: " plus "),
    (re.compile(r"(?<=[a-z])/(?=[a-z])"), lambda m: " or "),
    (re.compile(r"(?<=\w)\s+[-–—]+\s+(?=\w)|\s*[—–]\s*|\s+-+\s+"), lambda m: ", "),
    (re.compile(r"[*_`#~^\\<>\[\]{}/]+"), lambda m: " "),
    (re.compile(r"\|"), lambda m: ", "),
]
_CJK = str.maketrans({"。": ". ", "．": ". ", "！": "! ", "？": "? ", "，": ", ", "、": ", ", "；": "; ", "：": ": ",
                      "（": " (", "）": ") ", "「": "\"", "」": "\"", "『": "\"", "』": "\"", "…": "..."})


def _apply(rules: list[_Rule], text: str) -> str:
    for pattern, fn in rules:
        text = pattern.sub(fn, text)
    return text


def to_spoken(text: str) -> str:
    """The words to say for `text` (one phrase or a whole reply); idempotent, so words stay words."""
    from realtime.sentences import strip_emoji

    text = strip_emoji(text.translate(_CJK))
    text = _apply(_WEB, text)
    text = _apply(_TIMES, text)
    text = _apply(_ABBREVIATIONS, text)
    text = _apply(_OPERATORS, text)
    text = _apply(_NUMBERS, text)
    text = _apply(_SYMBOLS, text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"^[,;:.\s]+", "", text)
    return text
