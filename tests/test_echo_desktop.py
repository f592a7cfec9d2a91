"""Open speakers on the desktop path: the speaker's output really comes back into the microphone.

A PulseAudio loopback carries the sink `spk` (what the assistant plays) into `micfeed` (what the virtual mic
hears), 40 ms later: an echo path with no headset. With barge-in policy `headset` the assistant hears itself
and stops its own reply; with `echo_cancel` the reply plays on, and the user talking over it still stops it.
Real Piper, Whisper, VAD, speaker and microphone adapters; the LLM is the Ollama simulator.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile as sf
from faster_whisper import decode_audio

from core.config import load_settings
from core.ollama_sim import OllamaSim, Reply, Rule
from realtime.audio_in import MicrophoneSource
from realtime.engines import Engines
from realtime.events import Event
from realtime.speaker import SpeakerOutput
from realtime.voice_agent import VoiceAgent

LONG = " ".join(f"Here is part {i} of a long story about a lighthouse keeper and her cat." for i in range(1, 30))
pytestmark = [pytest.mark.slow, pytest.mark.sound]


@pytest.fixture
def echo_path(sounddevice_on_pulse: dict[str, str]) -> Iterator[dict[str, str]]:
    """Route the speaker back into the microphone for one test."""
    env = {**os.environ, **sounddevice_on_pulse}
    module = subprocess.run(
        ["pactl", "load-module", "module-loopback", "source=spk.monitor", "sink=micfeed", "latency_msec=40"],
        env=env, capture_output=True, text=True, check=True).stdout.strip()
    try:
        yield sounddevice_on_pulse
    finally:
        subprocess.run(["pactl", "unload-module", module], env=env, capture_output=True, check=False)


@dataclass
class Session:
    agent: VoiceAgent
    speaker: SpeakerOutput
    events: list[Event]

    def count(self, kind: str) -> int:
        return sum(e.type == kind for e in self.events)

    async def wait_for(self, kind: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.count(kind) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.count(kind) > 0


@asynccontextmanager
async def desktop_session(policy: str, tmp_path: Path) -> AsyncIterator[Session]:
    """The desktop set-up of `launch.py talk`: mic -> agent -> speaker, with a long story ready."""
    with OllamaSim([Rule("story", [Reply(LONG)])], first_token_s=0.1, tokens_per_s=30) as sim:
        s = load_settings(memory={"db_path": str(tmp_path / "a.db")}, mcp={"enabled": False},
                          tts={"chain": ["piper"]}, barge_in={"policy": policy})
        s.ollama.host = sim.url
        engines = await Engines.load(s, tools=False)
        speaker = SpeakerOutput(s.audio, s.tts.sample_rate)
        await speaker.start()
        agent = VoiceAgent(engines, speaker)
        events: list[Event] = []
        agent.subscribe(events.append)
        mic = MicrophoneSource(s.audio, agent.push_audio, on_error=agent.emit)
        await mic.start()
        try:
            for _ in range(100):
                if mic.frames_in:
                    break
                await asyncio.sleep(0.05)
            yield Session(agent, speaker, events)
        finally:
            await mic.stop()
            await agent.aclose()
            await speaker.stop()
            await engines.aclose()


async def start_story(sess: Session) -> None:
    await sess.agent.submit_text("tell me a long story")
    deadline = time.monotonic() + 30
    while sess.agent.state != "speaking" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert sess.agent.state == "speaking"


async def test_with_the_headset_policy_open_speakers_make_it_interrupt_itself(
        echo_path: dict[str, str], tmp_path: Path) -> None:
    async with desktop_session("headset", tmp_path) as sess:
        await start_story(sess)
        # nobody speaks: its own voice, coming back through the room, stops the reply
        assert await sess.wait_for("interrupted", 10.0), [e.type for e in sess.events][-20:]


async def test_echo_cancel_keeps_the_reply_going_and_the_user_can_still_interrupt(
        echo_path: dict[str, str], jfk_path: Path, tmp_path: Path) -> None:
    speech = tmp_path / "user.wav"
    sf.write(speech, decode_audio(str(jfk_path))[: 16000 * 3], 16000)
    async with desktop_session("echo_cancel", tmp_path) as sess:
        assert sess.agent.echo is not None
        await start_story(sess)
        played_before = sess.speaker.played_samples()
        assert not await sess.wait_for("interrupted", 6.0)  # six seconds of its own voice in the mic
        assert sess.agent.state == "speaking" and sess.count("speech_started") == 0
        assert sess.speaker.played_samples() - played_before > 5 * sess.speaker.sample_rate
        assert sess.agent.echo.far_frames > 500  # the canceller was fed what the speaker played
        # the user talks over the reply, through the same room
        player = subprocess.Popen(["paplay", "--device=micfeed", str(speech)], env={**os.environ, **echo_path})
        try:
            assert await sess.wait_for("interrupted", 15.0), [e.type for e in sess.events][-20:]
            # and what it heard was the user, not its own story
            assert await sess.wait_for("final_transcript", 15.0)
        finally:
            player.wait(timeout=10)
        heard = " ".join(getattr(e, "text", "") for e in sess.events if e.type == "final_transcript").lower()
        assert any(w in heard for w in ("fellow", "americans", "and so")), heard
        assert "lighthouse" not in heard
