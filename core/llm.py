"""The chat model behind a small Protocol, and its Ollama implementation.

Ollama's client raises a zoo of exceptions (a raw `httpx.ConnectError` when streaming, `ResponseError` 404 for a
model that is not pulled, nothing at all for a hung server unless a timeout is set), so they are all turned into
one `LlmError` carrying an error code and the exact fix, here and nowhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import ollama

from base.events import ErrorCode
from core.config import OllamaConfig


@dataclass(frozen=True)
class ChatDelta:
    """A piece of a streamed reply: some text, or tool calls, or the end with the server's figures."""

    text: str = ""
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    done: bool = False
    stats: dict[str, Any] = field(default_factory=dict)


class LlmError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChatModel(Protocol):
    """Streams one model reply; raises LlmError with a code on any failure."""

    def stream(
        self, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] | None
    ) -> AsyncIterator[ChatDelta]: ...

    async def status(self) -> tuple[bool, str, str]: ...


class OllamaChat:
    """Ollama through the official AsyncClient, always with timeouts."""

    def __init__(self, cfg: OllamaConfig) -> None:
        self.cfg = cfg
        # read= is a backstop for each chunk; the stream loop bounds the first chunk and each later one itself,
        # and the whole reply is bounded separately by total_timeout_s.
        read = max(cfg.first_token_timeout_s, cfg.between_token_timeout_s)
        timeout = httpx.Timeout(connect=cfg.connect_timeout_s, read=read, write=10.0, pool=cfg.connect_timeout_s)
        self.client = ollama.AsyncClient(host=cfg.host, timeout=timeout)

    def _fix_unreachable(self) -> str:
        return f"Ollama is not reachable at {self.cfg.host}: start it with `ollama serve` (or set ollama.host)"

    def _map(self, exc: BaseException) -> LlmError:
        if isinstance(exc, LlmError):
            return exc
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404:
                return LlmError(
                    ErrorCode.LLM_MODEL_MISSING,
                    f"the model '{self.cfg.model}' is not pulled in Ollama: run `ollama pull {self.cfg.model}`",
                )
            return LlmError(ErrorCode.LLM_ERROR, f"Ollama answered an error: {exc.error}")
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            return LlmError(
                ErrorCode.LLM_TIMEOUT,
                f"Ollama at {self.cfg.host} did not answer in time ({type(exc).__name__}); "
                "check that it is not stuck, or raise ollama.first_token_timeout_s",
            )
        if isinstance(exc, httpx.ConnectError | ConnectionError | httpx.RemoteProtocolError | httpx.ReadError):
            return LlmError(ErrorCode.LLM_UNAVAILABLE, self._fix_unreachable())
        return LlmError(ErrorCode.LLM_ERROR, f"Ollama request failed: {type(exc).__name__}: {exc}")

    def _stalled(self, stage: str, waited: float) -> LlmError:
        """The first chunk (a cold model loads first) and every later one each have their own bound."""
        key = "first_token_timeout_s" if stage == "first" else "between_token_timeout_s"
        return LlmError(ErrorCode.LLM_TIMEOUT, f"Ollama at {self.cfg.host} sent no {stage} token within "
                        f"{waited:g} s: check that it is not stuck or overloaded, or raise ollama.{key}")

    async def stream(
        self, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] | None
    ) -> AsyncIterator[ChatDelta]:
        saw_text = saw_done = False
        try:
            async with asyncio.timeout(self.cfg.total_timeout_s):
                parts = await self.client.chat(
                    model=self.cfg.model,
                    messages=list(messages),
                    tools=list(tools) if tools else None,
                    stream=True,
                    options={"temperature": self.cfg.temperature, "num_ctx": self.cfg.context_tokens},
                )
                chunks = aiter(parts)
                wait, stage = self.cfg.first_token_timeout_s, "first"
                while True:
                    try:
                        async with asyncio.timeout(wait):
                            part = await anext(chunks)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        raise self._stalled(stage, wait) from None
                    wait, stage = self.cfg.between_token_timeout_s, "next"
                    msg = part.message
                    saw_text = saw_text or bool(msg.content)
                    saw_done = saw_done or bool(part.done)
                    calls = tuple(
                        (tc.function.name, dict(tc.function.arguments or {})) for tc in (msg.tool_calls or [])
                    )
                    stats = {}
                    if part.done:
                        stats = {k: getattr(part, k, None) for k in (
                            "total_duration", "load_duration", "prompt_eval_count", "eval_count", "eval_duration")}
                    yield ChatDelta(text=msg.content or "", tool_calls=calls, done=bool(part.done), stats=stats)
                if not saw_done:
                    raise LlmError(ErrorCode.LLM_STREAM_CUT, "Ollama's reply broke off before its end (the stream "
                                   "closed without its final chunk): check the Ollama server's log")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure becomes one coded error
            err = self._map(exc)
            if saw_text and err.code == ErrorCode.LLM_UNAVAILABLE:  # it was reachable: the stream was cut
                err = LlmError(ErrorCode.LLM_STREAM_CUT, f"Ollama's reply broke off mid-way ({err.message})")
            raise err from exc

    async def status(self) -> tuple[bool, str, str]:
        """(ok, detail, fix): is the server up and is the model pulled."""
        try:
            listed = await asyncio.wait_for(self.client.list(), timeout=self.cfg.connect_timeout_s + 2)
        except Exception as exc:
            err = self._map(exc)
            fix = "ollama serve" if err.code != ErrorCode.LLM_TIMEOUT else "restart Ollama (`ollama serve`)"
            return False, err.message, fix
        names = {m.model or "" for m in listed.models}
        want = self.cfg.model if ":" in self.cfg.model else f"{self.cfg.model}:latest"
        if want in names or self.cfg.model in names:
            return True, f"{self.cfg.host} serves {self.cfg.model}", ""
        return False, f"Ollama runs at {self.cfg.host} but '{self.cfg.model}' is not pulled", (
            f"ollama pull {self.cfg.model}")
