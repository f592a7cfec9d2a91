"""Barge-in on the desktop path: a real sound server, the real mic and speaker adapters, Piper and Whisper.

The user's voice is played into the virtual microphone while the assistant is reading a long reply; what the
speaker really played is recorded from the sink's monitor.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
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
from tests import soundserver

LONG = " ".join(f"Here is part {i} of a long story about a lighthouse keeper and her cat." for i in range(1, 30))


def rms_windows(path: Path, win_s: float = 0.1) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(path, dtype="int16")
    n = int(rate * win_s)
    frames = audio[: len(audio) // n * n].astype(np.float64).reshape(-1, n)
    return np.sqrt((frames ** 2).mean(axis=1)), rate


@pytest.mark.slow
@pytest.mark.sound
async def test_talking_over_the_reply_stops_it(sounddevice_on_pulse: dict[str, str], jfk_path: Path,
                                                tmp_path: Path) -> None:
    env = sounddevice_on_pulse
    speech = tmp_path / "user.wav"
    sf.write(speech, decode_audio(str(jfk_path))[: 16000 * 3], 16000)
    with OllamaSim([Rule("story", [Reply(LONG)])], first_token_s=0.1, tokens_per_s=30) as sim:
        s = load_settings(memory={"db_path": str(tmp_path / "a.db")}, mcp={"enabled": False},
                          tts={"chain": ["piper"]})
        s.ollama.host = sim.url
        engines = await Engines.load(s, tools=False)
        speaker = SpeakerOutput(s.audio, s.tts.sample_rate)
        await speaker.start()
        agent = VoiceAgent(engines, speaker)
        events: list[Event] = []
        agent.subscribe(events.append)
        mic = MicrophoneSource(s.audio, agent.push_audio, on_error=agent.emit)
        await mic.start()
        recording = tmp_path / "speaker.wav"
        try:
            with soundserver.record_speaker(recording, env):
                for _ in range(100):
                    if mic.frames_in:
                        break
                    await asyncio.sleep(0.05)
                await agent.submit_text("tell me a long story")
                while agent.state != "speaking":
                    await asyncio.sleep(0.02)
                await asyncio.sleep(2.0)  # let the reply play for a while
                soundserver.play_into_mic(speech, env)
                deadline = time.monotonic() + 15
                while not any(e.type == "interrupted" for e in events) and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                assert any(e.type == "interrupted" for e in events), [e.type for e in events][-20:]
                tokens = sum(e.type == "llm_token" for e in events)
                requests = len(sim.chat_requests())
                played = speaker.played_samples()
                await asyncio.sleep(1.5)
        finally:
            await mic.stop()
            await agent.aclose()
            await speaker.stop()
            await engines.aclose()
    # the speaker went quiet: nothing more was handed to the device, and the sink recorded silence
    assert speaker.played_samples() == played
    rms, _ = rms_windows(recording)
    assert rms.max() > 300  # the reply was really audible before
    assert rms[-8:].max() < 50  # and silent after the barge-in
    # the model was not asked for more, and its stream stopped
    assert sum(e.type == "llm_token" for e in events) == tokens
    assert len(sim.chat_requests()) == requests
    # history holds only what was heard
    rows = engines.history.recent(agent.session_id, 10)
    reply = rows[-1]
    assert reply["role"] == "assistant" and reply["interrupted"]
    heard = reply["heard"].rstrip("…")
    assert heard and LONG.startswith(heard[: len(heard) // 2]) and len(heard) < len(LONG) // 2
