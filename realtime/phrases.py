"""Where a reply's phrases come from: the reply mode is a phrase source, not a flag threaded through the agent.

Streaming cuts the token stream into phrases as it arrives (speech starts while the model is still writing);
classic waits for the whole reply, then cuts it, and its audio plays only once every phrase is synthesized
(the whole answer at once, as the seed's non-streaming mode does).
"""

from __future__ import annotations

from typing import Protocol

from realtime.sentences import SentenceSplitter

SLOW_TOOL_PHRASE = "One moment."


class PhraseSource(Protocol):
    whole_reply: bool  # True: play only once every phrase of the reply is synthesized

    def on_token(self, text: str) -> list[str]: ...

    def on_tool_call(self) -> list[str]: ...

    def on_tool_pending(self) -> list[str]: ...

    def finish(self, reply_text: str) -> list[str]: ...


class StreamingPhrases:
    """Phrases as soon as the splitter can cut them; what was said before a tool call is spoken before it."""

    whole_reply = False

    def __init__(self) -> None:
        self._splitter = SentenceSplitter()
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

    def on_token(self, text: str) -> list[str]:
        return []

    def on_tool_call(self) -> list[str]:
        return []

    def on_tool_pending(self) -> list[str]:
        return []

    def finish(self, reply_text: str) -> list[str]:
        splitter = SentenceSplitter()
        return splitter.push(reply_text) + splitter.flush()


def phrase_source(streaming: bool) -> PhraseSource:
    return StreamingPhrases() if streaming else ClassicPhrases()
