"""Cut the LLM's token stream into phrases a voice can speak as soon as possible.

The first phrase is cut eagerly (at the first clause break once it holds ~10 characters, or after a few words)
so the assistant starts talking while the model is still writing; later phrases are whole sentences, long ones
cut at clause breaks. A cut is only decided once the characters that decide it have arrived, so feeding the
text whole or token by token gives exactly the same phrases.
"""

from __future__ import annotations

import re
import unicodedata

# Never a sentence end: a title or a Latin abbreviation is always followed by more of the same sentence.
_NEVER_END = {"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "vs", "e.g", "i.e", "cf", "no", "approx",
              "fig"}
# A sentence end only when the next word starts with a capital: "at 5 p.m. Bring snacks" vs "5 p.m. tomorrow".
_END_IF_CAPITAL = {"etc", "a.m", "p.m", "inc", "ltd", "co", "corp", "u.s", "jan", "feb", "aug", "sept", "oct",
                   "nov", "dec"}
_TERMINATORS = ".!?…"
_CLOSERS = "\"')]}*_”’»"
_CLAUSE = ",;:—–"
_FENCE = "```"


class SentenceSplitter:
    """Feed text deltas with `push`; call `flush` at the end of the reply. Both return phrases ready to speak.

    Returned phrases are already `speakable` (no markdown, code, raw URLs or emoji); empty ones are dropped.
    """

    def __init__(self, *, first_min_chars: int = 10, first_max_words: int = 7, max_chars: int = 200,
                 code_phrase: str | None = None) -> None:
        self.first_min_chars = first_min_chars
        self.first_max_words = first_max_words
        self.max_chars = max_chars
        self.code_phrase = code_phrase  # said in place of a code block; None skips the block silently
        self._buf = ""
        self._first = True

    def push(self, delta: str) -> list[str]:
        self._buf += delta
        return self._drain(final=False)

    def flush(self) -> list[str]:
        out = self._drain(final=True)
        self._buf = ""
        self._first = True
        return out

    def _drain(self, *, final: bool) -> list[str]:
        out: list[str] = []
        while self._buf:
            step = self._next_cut(self._buf, final)
            if step is None:
                break
            raw, resume = step
            self._buf = self._buf[resume:]
            phrase = (self.code_phrase or "") if raw == _FENCE else speakable(raw)
            if phrase:
                out.append(phrase)
                self._first = False
        return out

    def _next_cut(self, buf: str, final: bool) -> tuple[str, int] | None:
        """Return (raw phrase, where to resume), or None while the next cut is still undecided."""
        n = len(buf)
        s = len(buf) - len(buf.lstrip())
        if s == n:
            return ("", n) if final else None
        words = 0
        last_clause = last_space = -1
        i = s
        while i < n:
            c = buf[i]
            if c == "`":
                if n - i < 3 and not final and _FENCE.startswith(buf[i:]):
                    return None
                if buf.startswith(_FENCE, i):
                    if buf[s:i].strip():
                        return buf[s:i], i
                    close = buf.find(_FENCE, i + 3)
                    if close < 0:
                        return (_FENCE, n) if final else None
                    return _FENCE, close + 3
            elif c == "\n":
                if buf[s:i].strip():
                    return buf[s:i], i + 1
            elif c in _TERMINATORS:
                end = self._sentence_end(buf, s, i, final)
                if end is None:
                    return None
                if end > 0:
                    return buf[s:end], end
            elif c in _CLAUSE and i > s:
                if i + 1 >= n and not final:
                    return None
                if i + 1 >= n or buf[i + 1].isspace():
                    if self._first and len(buf[s:i + 1].strip()) >= self.first_min_chars:
                        return buf[s:i + 1], i + 1
                    last_clause = i + 1
            elif c.isspace() and not buf[i - 1].isspace():
                words += 1
                last_space = i
                if self._first and words >= self.first_max_words:
                    k = _skip_space(buf, i)
                    if k >= n and not final:
                        return None
                    if k < n and buf[k].isalnum():
                        return buf[s:i], i
            if i - s >= self.max_chars:
                cut = last_clause if last_clause > s + self.max_chars // 4 else last_space
                cut = cut if cut > s else i
                return buf[s:cut], cut
            i += 1
        if final:
            return buf[s:], n
        return None

    @staticmethod
    def _sentence_end(buf: str, s: int, i: int, final: bool) -> int | None:
        """End of the sentence if the terminator at `i` ends one, 0 if it does not, None if undecided."""
        n = len(buf)
        j = i
        while j < n and buf[j] in _TERMINATORS:
            j += 1
        while j < n and buf[j] in _CLOSERS:
            j += 1
        if j >= n:
            return j if final else None
        if not buf[j].isspace():
            return 0  # 3.14, example.com, e.g. mid-token
        k = _skip_space(buf, j)
        if k >= n and not final:
            return None
        if buf[i] != "." or (j - i > 1 and buf[i + 1] in _TERMINATORS) or "\n" in buf[j:k]:
            return j
        w = i
        while w > s and not buf[w - 1].isspace():
            w -= 1
        word = buf[w:i].lower().lstrip("(\"'“‘")
        if word in _NEVER_END or (len(word) == 1 and word.isalpha()):
            return 0
        if word.isdigit() and not buf[s:w].strip():
            return 0  # "1. " starts a numbered list item
        if word in _END_IF_CAPITAL:
            return j if k < n and buf[k].isupper() else 0
        return j


def _skip_space(buf: str, i: int) -> int:
    while i < len(buf) and buf[i].isspace():
        i += 1
    return i


_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)")
_URL = re.compile(r"\b(?:https?://|www\.)([^\s/?#<>\"')\]]+)[^\s<>\"')\]]*", re.I)
_EMAIL = re.compile(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b")
_INLINE_CODE = re.compile(r"`([^`]*)`")
_LINE_MARKERS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d+[.)]\s+)", re.M)
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_ITALIC = re.compile(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])")
_TABLE_RULE = re.compile(r"^\s*\|?(?:\s*:?-{2,}:?\s*\|)+\s*:?-*:?\s*$", re.M)
_KEEP_SYMBOLS = set("°©®™€£$¥%&+=<>@")


def speakable(text: str) -> str:
    """Turn markdown-ish LLM text into what should be read aloud: no code, markup, raw URLs or emoji."""
    text = _CODE_BLOCK.sub(" ", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)} at {m.group(2)}", text)
    text = _URL.sub(lambda m: _domain(m.group(1)), text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _TABLE_RULE.sub(" ", text)
    text = _LINE_MARKERS.sub("", text)
    text = _BOLD.sub(r"\2", text)
    text = _ITALIC.sub(r"\2", text)
    text = text.replace("|", ", ").replace("*", "")
    text = "".join(ch for ch in text if not _is_emoji(ch))
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text).lstrip(",;: ")
    return text if any(ch.isalnum() for ch in text) else ""


def _domain(host: str) -> str:
    host = host.lower().removeprefix("www.").rstrip(".,;:")
    return host


def _is_emoji(ch: str) -> bool:
    if ch in _KEEP_SYMBOLS:
        return False
    cp = ord(ch)
    if cp in (0x200D, 0x20E3, 0xFE0E, 0xFE0F) or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:
        return True
    return unicodedata.category(ch) in ("So", "Cs", "Co")
