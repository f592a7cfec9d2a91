"""Open speakers on the desktop path: the speaker's output really comes back into the microphone.

A PulseAudio loopback carries the sink `spk` (what the assistant plays) into `micfeed` (what the virtual mic
hears), 40 ms later: an echo path with no headset. With barge-in policy `headset` the assistant hears itself,
knows its own words, and switches to the echo canceller; with `echo_cancel` the reply plays on, and the user
talking over it still stops it.
Real Piper, Whisper, VAD, speaker and microphone adapters; the LLM is the Ollama simulator.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
from faster_whisper import decode_audio

from base.events import ErrorCode, ErrorEvent
from tests.desktop import Session, desktop_session, start_story

pytestmark = [pytest.mark.slow, pytest.mark.sound]


def heard_and_done(sess: Session) -> str:
    """The session's events but the reply's own stream (tokens, phrases, audio): for a failure message."""
    return "\n".join(f"{e.t:.3f} {e.type} {e.turn_id[:8]} {getattr(e, 'text', getattr(e, 'state', ''))!r}"
                     for e in sess.events
                     if e.type not in ("llm_token", "tts_audio", "sentence", "playback_progress"))


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


async def test_echo_cancel_keeps_the_reply_going_and_the_user_can_still_interrupt(
        echo_path: dict[str, str], jfk_path: Path, tmp_path: Path) -> None:
    speech = tmp_path / "user.wav"
    sf.write(speech, decode_audio(str(jfk_path))[: 16000 * 3], 16000)
    async with desktop_session("echo_cancel", tmp_path) as sess:
        assert sess.agent.barge_in.echo is not None
        await start_story(sess)
        played_before = sess.speaker.played_samples()
        # six seconds of its own voice in the mic (on failure: what the agent heard and did)
        assert not await sess.wait_for("interrupted", 6.0), heard_and_done(sess)
        assert sess.agent.state == "speaking" and sess.count("speech_started") == 0, heard_and_done(sess)
        assert sess.speaker.played_samples() - played_before > 5 * sess.speaker.sample_rate
        assert sess.agent.barge_in.echo.far_frames > 500  # the canceller was fed what the speaker played
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


async def test_with_the_headset_policy_open_speakers_it_hears_itself_and_moves_to_echo_cancel(
        echo_path: dict[str, str], tmp_path: Path) -> None:
    """Nobody speaks: its own voice comes back through the room and is heard over the reply. Before, that cut
    the reply and became a turn ("Here is part."), whose answer's echo did the same, turn after turn. Now the
    words are known for the reply's own: the story goes on, and the session switches to the echo canceller."""
    # last in this file: a session that talked this long over the loopback, run just before the echo_cancel
    # test, made that test's canceller let its story through in 2 of 10 runs (not found why)
    async with desktop_session("headset", tmp_path) as sess:
        await start_story(sess)
        assert await sess.wait_for("error", 15.0), heard_and_done(sess)  # it heard itself, and says so
        notice = next(e for e in sess.events if isinstance(e, ErrorEvent))
        assert notice.code == ErrorCode.AUDIO_INPUT and "own voice" in notice.message, notice
        assert sess.agent.barge_in.name in ("echo_cancel", "ignore_while_speaking")
        played = sess.speaker.played_samples()
        assert not await sess.wait_for("interrupted", 4.0), heard_and_done(sess)
        assert sess.agent.state == "speaking" and sess.count("turn_done") == 0, heard_and_done(sess)
        assert sess.speaker.played_samples() - played > 3 * sess.speaker.sample_rate  # the story went on
        await sess.agent.interrupt()  # nothing left playing into the room for the next test's microphone
