"""Where a reply's phrases come from: the reply mode is a phrase source, not a flag threaded through the agent.

Streaming cuts the token stream into phrases as it arrives (speech starts while the model is still writing);
classic waits for the whole reply, then cuts it, and its audio plays only once every phrase is synthesized
(the whole answer at once, as the seed's non-streaming mode does).
"""

from __future__ import annotations

from typing import Protocol

from realtime.sentences import SentenceSplitter

SLOW_TOOL_PHRASE = "One moment."
MAX_CHARS = 200  # the splitter's own default; tts.max_phrase_chars sets it per session


class PhraseSource(Protocol):
    whole_reply: bool  # True: play only once every phrase of the reply is synthesized

    def on_token(self, text: str) -> list[str]: ...

    def on_tool_call(self) -> list[str]: ...

    def on_tool_pending(self) -> list[str]: ...

    def finish(self, reply_text: str) -> list[str]: ...


class StreamingPhrases:
    """Phrases as soon as the splitter can cut them; what was said before a tool call is spoken before it."""

    whole_reply = False

    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        self._splitter = SentenceSplitter(max_chars=max_chars)
        self._acknowledged = False

    def on_token(self, text: str) -> list[str]:
        return self._splitter.push(text)

    def on_tool_call(self) -> list[str]:
        return self._splitter.flush()

    def on_tool_pending(self) -> list[str]:
        """A slow tool: say so once, briefly, instead of going quiet."""
        if self._acknowledged:
            return []
        self._acknowledged = True
        return [SLOW_TOOL_PHRASE]

    def finish(self, reply_text: str) -> list[str]:
        return self._splitter.flush()


class ClassicPhrases:
    """Nothing until the reply is complete; then the finished text cut by the same splitter."""

    whole_reply = True

    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        self.max_chars = max_chars

    def on_token(self, text: str) -> list[str]:
        return []

    def on_tool_call(self) -> list[str]:
        return []

    def on_tool_pending(self) -> list[str]:
        return []

    def finish(self, reply_text: str) -> list[str]:
        splitter = SentenceSplitter(max_chars=self.max_chars)
        return splitter.push(reply_text) + splitter.flush()


def phrase_source(streaming: bool, *, max_chars: int = MAX_CHARS) -> PhraseSource:
    """The reply mode's phrases; `max_chars` (tts.max_phrase_chars) caps a phrase that has no sentence end."""
    return StreamingPhrases(max_chars) if streaming else ClassicPhrases(max_chars)
