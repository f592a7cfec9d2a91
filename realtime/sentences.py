"""Cut the LLM's token stream into phrases a voice can speak as soon as possible.

The first phrase is cut eagerly (at the first clause break once it holds ~10 characters, or after a few words)
so the assistant starts talking while the model is still writing; later phrases are whole sentences, long ones
cut at clause breaks. A cut is only decided once the characters that decide it have arrived, so feeding the
text whole or token by token gives exactly the same phrases.
"""

from __future__ import annotations

import re
import unicodedata

from realtime.speech_words import DANGLING, END_IF_CAPITAL, NEVER_END

_TERMINATORS = ".!?…。！？"
_CJK_TERMINATORS = "。！？"  # a sentence end with no space after it
_CLOSERS = "\"')]}*_”’»」』）】"
_CLAUSE = ",;:—–，、；："
_CJK_CLAUSE = "，、；："
_FENCE = "```"
_ACRONYM = re.compile(r"(?:[a-z]{1,2}\.)+[a-z]")  # u.s.a, ph.d, a.m: ends a sentence only before a capital
_LIST_MARKER = re.compile(r"(\d{1,2})[.)][ \t]+|[-*+•][ \t]+")
_BLOCK_START = re.compile(r"#|[-*+•>|][ \t]|```|\d{1,2}[.)][ \t]|\|")


class SentenceSplitter:
    """Feed text deltas with `push`; call `flush` at the end of the reply. Both return phrases ready to speak.

    Returned phrases are already `speakable` (no markdown, code, raw URLs or emoji); empty ones are dropped,
    except that a reply of nothing but emoji is answered with their names rather than with silence.
    """

    def __init__(self, *, first_min_chars: int = 10, first_max_words: int = 7, max_chars: int = 200,
                 code_phrase: str | None = None) -> None:
        self.first_min_chars = first_min_chars
        self.first_max_words = first_max_words
        self.max_chars = max_chars
        self.code_phrase = code_phrase  # said in place of a code block; None skips the block silently
        self._buf = ""
        self._first = True
        self._line_start = True  # the buffer starts a line (or the reply): where list markers may stand
        self._emoji: list[str] = []  # names of emoji dropped so far, said if the reply has nothing else
        self._cut_any = False  # anything cut from this reply yet (a reply's very start is not a list)

    def push(self, delta: str) -> list[str]:
        self._buf += delta
        return self._drain(final=False)

    def flush(self) -> list[str]:
        out = self._drain(final=True)
        if self._first and self._emoji:
            names = list(dict.fromkeys(self._emoji))[:3]
            out.append(", ".join(names).capitalize() + ".")
        self._buf = ""
        self._first = True
        self._line_start = True
        self._emoji = []
        self._cut_any = False
        return out

    def _drain(self, *, final: bool) -> list[str]:
        out: list[str] = []
        while self._buf:
            step = self._next_cut(self._buf, final)
            if step is None:
                break
            raw, resume = step
            self._line_start = self._buf[resume - 1:resume] == "\n" if resume else self._line_start
            self._buf = self._buf[resume:]
            self._cut_any = True
            phrase = (self.code_phrase or "") if raw == _FENCE else speakable(raw)
            if phrase:
                out.append(phrase)
                self._first = False
            elif raw != _FENCE:
                self._emoji += emoji_names(raw)
        return out

    def _marker_end(self, buf: str, s: int, final: bool) -> int | None:
        """Where a list marker at `s` ends (s if none), or None while it is undecided ("1" may become "1. ")."""
        if not (self._line_start or "\n" in buf[:s]):
            return s
        head = buf[s:s + 5]
        if not final and len(head) < 5 and "\n" not in head and not re.search(r"[^\d.)\-*+•]", head):
            return None
        m = _LIST_MARKER.match(buf, s)
        if m is None:
            return s
        reply_start = not self._cut_any and "\n" not in buf[:s]
        if m.group(1) and reply_start and int(m.group(1)) != 1:
            return s  # "42. Easy one." opening a reply is an answer, not item 42 of a list
        return m.end()

    def _next_cut(self, buf: str, final: bool) -> tuple[str, int] | None:
        """Return (raw phrase, where to resume), or None while the next cut is still undecided."""
        n = len(buf)
        s = len(buf) - len(buf.lstrip())
        if s == n:
            return ("", n) if final else None
        body = self._marker_end(buf, s, final)
        if body is None:
            return None
        line_block = body > s or (bool(_BLOCK_START.match(buf, s)) and (self._line_start or "\n" in buf[:s]))
        words = 0
        last_clause = last_space = -1
        word_start = body
        i = body
        while i < n:
            c = buf[i]
            if c == "`":
                if n - i < 3 and not final and _FENCE.startswith(buf[i:]):
                    return None
                if buf.startswith(_FENCE, i):
                    if buf[body:i].strip():
                        return buf[body:i], i
                    close = buf.find(_FENCE, i + 3)
                    if close < 0:
                        return (_FENCE, n) if final else None
                    return _FENCE, close + 3
            elif c == "\n" and buf[body:i].strip():
                k = i + 1
                while k < n and buf[k] in " \t":
                    k += 1
                if k + 3 > n and not final:
                    return None  # the next line's first characters decide
                if (k >= n or buf[k] == "\n" or line_block or _BLOCK_START.match(buf, k)
                        or buf[body:i].rstrip()[-1:] in _CLAUSE):
                    return buf[body:i], i + 1
            elif c in _TERMINATORS:
                end = self._sentence_end(buf, body, i, final)
                if end is None:
                    return None
                if end > 0:
                    return buf[body:end], end
            elif c in _CLAUSE and i > body:
                # a comma right after a letter breaks the clause whatever follows ("plan," needs no next
                # token: one token sooner to the first sound); after a digit the next character decides (1,000)
                at_once = c in _CJK_CLAUSE or (c == "," and buf[i - 1].isalpha())
                if i + 1 >= n and not final and not at_once:
                    return None
                if at_once or i + 1 >= n or buf[i + 1].isspace():
                    if self._first and len(buf[body:i + 1].strip()) >= self.first_min_chars:
                        return buf[body:i + 1], i + 1
                    last_clause = i + 1
            if c.isspace() and not buf[i - 1].isspace():
                words += 1
                last_space = i
                if self._first and words >= self.first_max_words and _cuttable_after(buf[word_start:i]):
                    k = _skip_space(buf, i)
                    if k >= n and not final:
                        return None
                    if k < n and buf[k].isalnum():
                        return buf[body:i], i
            if c.isspace():
                word_start = i + 1
            if i - body >= self.max_chars:
                cut = last_clause if last_clause > body + self.max_chars // 4 else last_space
                cut = cut if cut > body else i
                return buf[body:cut], cut
            i += 1
        if final:
            return buf[body:], n
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
        if buf[j - 1] in _CJK_TERMINATORS or buf[i] in _CJK_TERMINATORS:
            return j
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
        nxt = buf[k] if k < n else ""
        if word in NEVER_END or (word == "no" and nxt.isdigit()):
            return 0
        if len(word) == 1 and buf[w:i].lstrip("(\"'“‘").isupper():
            prev = buf[s:w].split()
            if nxt.isupper() and k + 1 >= n and not final:
                return None  # "by J. K. Rowling": is the next word an initial too?
            if not prev or prev[-1][:1].isupper() or (nxt.isupper() and buf[k + 1:k + 2] == "."):
                return 0  # an initial: "J. K. Rowling", "John F. Kennedy" (but "vitamin C. They" ends)
        if nxt.islower():
            return 0  # a lowercase word continues the sentence, whatever came before the period
        if word in END_IF_CAPITAL or _ACRONYM.fullmatch(word):
            return j if nxt.isupper() else 0
        return j


def _cuttable_after(word: str) -> bool:
    """An eager first cut may follow this word: not an abbreviation's period, not a dangling 'and'."""
    w = word.strip().lower().strip("\"'()*_“”‘’")
    if not w or w.endswith(".") or w in DANGLING:
        return False
    return not w.replace(",", "").replace(".", "").isdigit()  # "bake 20 | min." would split a number from its unit


def emoji_names(text: str) -> list[str]:
    """Unicode names of the emoji in `text` ("party popper"), for a reply that is nothing but emoji."""
    names = (unicodedata.name(ch, "") for ch in text if unicodedata.category(ch) == "So" and _is_emoji(ch))
    return [n.lower() for n in names if n]


def _skip_space(buf: str, i: int) -> int:
    while i < len(buf) and buf[i].isspace():
        i += 1
    return i


_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)")
_URL = re.compile(r"\b(?:https?://|www\.)([^\s/?#<>\"')\]]+?)(?:[/?#][^\s<>\"')\]]*?)?"
                  r"(?=[.,;:!?]*(?:[\s<>\"')\]]|$))", re.I)
_EMAIL = re.compile(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b")
_INLINE_CODE = re.compile(r"`([^`]*)`")
# Numbered markers only after a newline: the splitter has already taken them off a phrase that starts a line.
_LINE_MARKERS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+)|(?<=\n)\s*\d{1,2}[.)]\s+", re.M)
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_ITALIC = re.compile(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])")
_TABLE_RULE = re.compile(r"^\s*\|?(?:\s*:?-{2,}:?\s*\|)+\s*:?-*:?\s*$", re.M)
_TIMES = re.compile(r"(?:(?<=\d)|(?<=\d ))\*(?= ?[(\d])")
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
    text = _TIMES.sub("\0", text)  # "3 * 4" is arithmetic, not emphasis: keep its star
    text = text.replace("|", ", ").replace("*", "").replace("\0", "*")
    text = strip_emoji(text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text).lstrip(",;: ")
    return text if any(ch.isalnum() for ch in text) else ""


def _domain(host: str) -> str:
    host = host.lower().removeprefix("www.").rstrip(".,;:")
    return host


def strip_emoji(text: str) -> str:
    return "".join(ch for ch in text if not _is_emoji(ch))


def _is_emoji(ch: str) -> bool:
    if ch in _KEEP_SYMBOLS:
        return False
    cp = ord(ch)
    if cp in (0x200D, 0x20E3, 0xFE0E, 0xFE0F) or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:
        return True
    return unicodedata.category(ch) in ("So", "Cs", "Co")
