"""Long use: 200 turns in one session keep memory and file descriptors flat (real SQLite, real Ollama client)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest

from app.ollama_sim import OllamaSim, Reply
from base.events import Event, TurnDone
from core.assistant import Assistant
from core.config import load_settings
from core.llm import OllamaChat
from core.memory import History
from realtime.audio_out import PlayedWaiters
from realtime.engines import Engines
from realtime.tts.fallback import FallbackTTS
from realtime.voice_agent import VoiceAgent
from tests.fakes import ToneTTS

TURNS = 200
WARM_UP = 20


class DiscardOutput:
    """An AudioOutput that plays everything at once and keeps nothing (a collector would grow by design)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._played = 0
        self._waiters = PlayedWaiters()

    def enqueue(self, audio: np.ndarray, seq: int) -> None:
        self._played += len(audio)
        self._waiters.advance(self._played)

    def clear(self) -> None:
        self._played = 0
        self._waiters.advance(0, everything=True)

    def played_samples(self) -> int:
        return self._played

    async def wait_played(self, n: int) -> int:
        return await self._waiters.add(n, self._played)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
async def test_two_hundred_turns_keep_memory_and_descriptors_flat(tmp_path: Path) -> None:
    with OllamaSim(default=Reply("Sure. Here is a short answer to {user}. Anything else?"), first_token_s=0.0,
                   tokens_per_s=2000) as sim:
        s = load_settings(memory={"db_path": str(tmp_path / "a.db"), "embedder": "none"}, mcp={"enabled": False})
        s.ollama.host = sim.url
        history = History(tmp_path / "a.db")
        tts = FallbackTTS([ToneTTS()], sample_rate=22050)
        engines = Engines(s, None, tts, Assistant(s, OllamaChat(s.ollama), history), history)
        agent = VoiceAgent(engines, DiscardOutput(22050), listen=False)
        done = 0

        def count(ev: Event) -> None:
            nonlocal done
            done += isinstance(ev, TurnDone)

        agent.subscribe(count)
        rss0 = fds0 = 0.0
        for i in range(TURNS):
            if i == WARM_UP:
                await engines.assistant.writer.flush()
                rss0, fds0 = rss_mb(), open_fds()
            await agent.submit_text(f"question number {i}")
            await asyncio.wait_for(agent.wait_idle(), 30)
        await engines.assistant.writer.flush()
        rss1, fds1 = rss_mb(), open_fds()
        await agent.aclose()
    print(f"RSS after turn {WARM_UP}: {rss0:.1f} MB, after {TURNS}: {rss1:.1f} MB; fds {fds0:.0f} -> {fds1:.0f}")
    assert done == TURNS
    assert len(history.recent(agent.session_id, 1000)) == 2 * TURNS  # every row saved
    assert rss1 - rss0 < 50, f"RSS grew {rss1 - rss0:.1f} MB over {TURNS - WARM_UP} turns"
    assert fds1 - fds0 <= 2, f"file descriptors grew from {fds0} to {fds1}"
    assert len(agent.marks) <= agent.marks.keep and len(agent.tasks) <= 1  # per-turn state is bounded
    history.close()
