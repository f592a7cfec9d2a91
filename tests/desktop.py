"""The desktop set-up of `launch.py desktop` for sound-server tests: mic -> agent -> speaker, a long story ready.

Real Piper, Whisper, VAD, speaker and microphone adapters on the private PulseAudio daemon; the LLM is the
Ollama simulator, so tests can also check what the model was asked.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from app.ollama_sim import OllamaSim, Reply, Rule
from app.wiring import load_engines
from base.events import Event
from core.config import load_settings
from realtime.audio_in import MicrophoneSource
from realtime.engines import Engines
from realtime.speaker import SpeakerOutput
from realtime.voice_agent import VoiceAgent
from tests.waiting import wait_for

LONG = " ".join(f"Here is part {i} of a long story about a lighthouse keeper and her cat." for i in range(1, 30))


@dataclass
class Session:
    agent: VoiceAgent
    speaker: SpeakerOutput
    events: list[Event]
    sim: OllamaSim
    engines: Engines

    def count(self, kind: str) -> int:
        return sum(e.type == kind for e in self.events)

    async def wait_for(self, kind: str, timeout_s: float) -> bool:
        """Whether an event of `kind` came within `timeout_s` (bounded; the caller asserts either way)."""
        deadline = time.monotonic() + timeout_s
        while not self.count(kind) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.count(kind) > 0


HANG_S = 240  # under pytest-timeout's 300 s, whose dump shows threads only: this one shows the asyncio tasks


def _dump_tasks() -> None:
    """Print every asyncio task's stack: what a hung session is awaiting."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        task.print_stack(file=out)
    print(f"desktop session still open after {HANG_S} s; its tasks:\n{out.getvalue()}", file=sys.stderr, flush=True)


@asynccontextmanager
async def desktop_session(policy: str, tmp_path: Path) -> AsyncIterator[Session]:
    """Mic -> agent -> speaker on the default (test) devices, with barge-in policy `policy`."""
    with OllamaSim([Rule("story", [Reply(LONG)])], first_token_s=0.1, tokens_per_s=30) as sim:
        s = load_settings(memory={"db_path": str(tmp_path / "a.db")}, mcp={"enabled": False},
                          tts={"chain": ["piper"]}, barge_in={"policy": policy})
        s.ollama.host = sim.url
        engines = await load_engines(s, tools=False)
        speaker = SpeakerOutput(s.audio, s.tts.sample_rate)
        await speaker.start()
        agent = VoiceAgent(engines, speaker)
        events: list[Event] = []
        agent.subscribe(events.append)
        mic = MicrophoneSource(s.audio, agent.push_audio, on_error=agent.emit)
        await mic.start()
        watchdog = asyncio.get_running_loop().call_later(HANG_S, _dump_tasks)
        try:
            # the first input callback comes 0.2-1.75 s after start
            await wait_for(lambda: mic.frames_in, 5.0, "audio from the virtual microphone", interval=0.05)
            yield Session(agent, speaker, events, sim, engines)
        finally:
            try:
                await mic.stop()
                await agent.aclose()
                await speaker.stop()
                await engines.aclose()
            finally:
                watchdog.cancel()


async def start_story(sess: Session) -> None:
    await sess.agent.submit_text("tell me a long story")
    await wait_for(lambda: sess.agent.state == "speaking", 30.0, "the agent started speaking the story")
    assert sess.agent.state == "speaking"
