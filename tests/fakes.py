"""Test-only fakes for stages that are not under test. Each speaks its stage's real Protocol."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from base.status import ComponentStatus


class ListHistory:
    """An in-memory HistoryStore (the real one is core.memory.History, tested on its own)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add_message(self, session_id: str, role: str, content: str, *, turn_id: str | None = None,
                    interrupted: bool = False, heard: str | None = None) -> int:
        self.rows.append({"session_id": session_id, "role": role, "content": content, "turn_id": turn_id,
                          "interrupted": interrupted, "heard": heard, "created_at": time.time()})
        return len(self.rows)

    def recent(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["session_id"] == session_id][-limit:]

    def new_session(self, title: str | None = None) -> str:
        return f"s{len(self.rows)}"

    def sessions(self, limit: int = 50) -> list[dict[str, Any]]:
        return []


@dataclass
class Outcome:
    ok: bool
    content: str


@dataclass
class ScriptedTools:
    """A ToolRunner with Python functions as tools; records calls."""

    funcs: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    memories: list[str] = field(default_factory=list)
    delay_s: float = 0.0

    def ollama_tools(self) -> list[dict[str, Any]]:
        return [{"type": "function", "function": {"name": n, "description": n, "parameters": {
            "type": "object", "properties": {}}}} for n in self.funcs]

    async def ready_tools(self, wait_s: float) -> tuple[list[dict[str, Any]], list[str]]:
        return self.ollama_tools(), []

    async def call(self, name: str, arguments: dict[str, Any]) -> Outcome:
        self.calls.append((name, arguments))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if name not in self.funcs:
            return Outcome(False, f"unknown tool '{name}'")
        try:
            return Outcome(True, str(self.funcs[name](**arguments)))
        except Exception as exc:
            return Outcome(False, f"{name} failed: {exc}")

    async def recall(self, query: str, k: int, budget_s: float) -> list[str]:
        return self.memories[:k]


class FixedSTT:
    """A SpeechToText that 'hears' a fixed sentence: for orchestration tests, where Whisper is not under test."""

    def __init__(self, text: str = "please stop talking") -> None:
        self.text = text
        self.calls = 0

    def transcribe(self, audio: Any, *, final: bool = False) -> str:
        self.calls += 1
        return self.text


class ToneTTS:
    """A TextToSpeech that renders each phrase as a tone, 60 ms a character, and records what it spoke."""

    name = "tone"

    def __init__(self, sample_rate: int = 22050, delay_s: float = 0.0) -> None:
        self.sample_rate = sample_rate
        self.delay_s = delay_s
        self.spoken: list[str] = []

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Any:
        import numpy as np

        from realtime.tts.base import Speech

        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.spoken.append(text)
        n = int(len(text) * 0.06 * self.sample_rate)
        t = np.arange(n) / self.sample_rate
        audio = (np.sin(2 * np.pi * 220 * t) * 8000).astype(np.int16)
        return Speech(audio=audio, sample_rate=self.sample_rate, provider=self.name)

    async def probe(self) -> Any:

        return ComponentStatus(self.name, True, "test tone", "")

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
