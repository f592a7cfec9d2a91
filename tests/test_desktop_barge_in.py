"""Barge-in on the desktop path: a real sound server, the real mic and speaker adapters, Piper and Whisper.

The user's voice is played into the virtual microphone while the assistant is reading a long reply; what the
speaker really played is recorded from the sink's monitor.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from faster_whisper import decode_audio

from base.events import LlmToken
from tests import soundserver
from tests.desktop import LONG, Session, desktop_session, start_story


def rms_windows(path: Path, win_s: float = 0.1) -> np.ndarray:
    audio, rate = sf.read(path, dtype="int16")
    n = int(rate * win_s)
    frames = audio[: len(audio) // n * n].astype(np.float64).reshape(-1, n)
    return np.sqrt((frames ** 2).mean(axis=1))


def story_tokens(sess: Session, turn_id: str) -> int:
    return sum(isinstance(e, LlmToken) and e.turn_id == turn_id for e in sess.events)


def story_requests(sess: Session) -> list[dict[str, object]]:
    """The chat requests whose last user message is the story's (a reply to the user's next words is not)."""
    def last_user(r: dict[str, object]) -> str:
        msgs = r.get("messages")
        users = [m for m in msgs if isinstance(m, dict) and m.get("role") == "user"] if isinstance(msgs, list) else []
        return str(users[-1].get("content", "")) if users else ""
    return [r for r in sess.sim.chat_requests() if "long story" in last_user(r)]


@pytest.mark.slow
@pytest.mark.sound
async def test_talking_over_the_reply_stops_it(sounddevice_on_pulse: dict[str, str], jfk_path: Path,
                                                tmp_path: Path) -> None:
    env = sounddevice_on_pulse
    speech = tmp_path / "user.wav"
    sf.write(speech, decode_audio(str(jfk_path))[: 16000 * 3], 16000)
    recording = tmp_path / "speaker.wav"
    async with desktop_session("headset", tmp_path) as sess:
        with soundserver.record_speaker(recording, env):
            await start_story(sess)
            played_at_start = sess.speaker.played_samples()
            await asyncio.sleep(2.0)  # let the reply play for a while
            assert sess.speaker.played_samples() > played_at_start  # control: the speaker was playing
            soundserver.play_into_mic(speech, env)
            assert await sess.wait_for("interrupted", 15.0), [e.type for e in sess.events][-20:]
            # control: the model had more to send, so "no more tokens" below means its stream was stopped
            assert not any(isinstance(e, LlmToken) and e.done for e in sess.events)
            story = next(e.turn_id for e in sess.events if isinstance(e, LlmToken))
            tokens = story_tokens(sess, story)
            requests = len(story_requests(sess))
            played = sess.speaker.played_samples()
            await asyncio.sleep(1.5)
        # the speaker went quiet: nothing more was handed to the device, and the sink recorded silence
        assert sess.speaker.played_samples() == played
        rms = rms_windows(recording)
        assert rms.max() > 300  # the reply was really audible before
        assert rms[-8:].max() < 50  # and silent after the barge-in
        # the model was not asked for more of the story, and its stream stopped (the user's own words may
        # be answered meanwhile: that is a new turn, with its own id and request)
        assert story_tokens(sess, story) == tokens
        assert len(story_requests(sess)) == requests
        # history holds only what was heard
        rows = sess.engines.history.recent(sess.agent.session_id, 10)
        reply = next(r for r in rows if r["role"] == "assistant")  # the story's (a reply to the user may follow)
    assert reply["role"] == "assistant" and reply["interrupted"]
    heard = reply["heard"].rstrip("…")
    assert heard and LONG.startswith(heard[: len(heard) // 2]) and len(heard) < len(LONG) // 2
