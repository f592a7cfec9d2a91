"""The desktop speaker, recorded from a PulseAudio null sink: gapless phrases, silence at once on clear()."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from core.config import AudioConfig
from realtime.speaker import SpeakerError, SpeakerOutput
from realtime.tts.piper_voice import PiperTTS
from tests.soundserver import record_speaker
from tests.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.sound]

RATE = 22050
REC_RATE = 48000
FRAME_S = 0.01
PHRASES = ["Good morning, I checked the weather for you.",
           "It will be sunny with a light breeze.",
           "Take a hat if you go out."]


@pytest.fixture(scope="module")
def sd_pulse(pulse: dict[str, str]) -> Iterator[dict[str, str]]:
    """PortAudio lists devices when it initializes: re-initialize it now that PULSE_SERVER is set."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()
    yield pulse


@pytest.fixture(scope="module")
def phrases() -> list[np.ndarray]:
    async def make() -> list[np.ndarray]:
        piper = PiperTTS(sample_rate=RATE)
        return [(await piper.synthesize(p)).audio for p in PHRASES]

    return asyncio.run(make())


def voiced(audio: np.ndarray, rate: int) -> np.ndarray:
    """One bool per 10 ms frame: is there sound in it?"""
    n = int(rate * FRAME_S)
    frames = audio[: len(audio) // n * n].astype(np.float32).reshape(-1, n)
    return np.sqrt((frames ** 2).mean(axis=1)) > 150.0


def longest_gap_s(flags: np.ndarray) -> float:
    """Longest silent run between the first and the last sound."""
    idx = np.flatnonzero(flags)
    if len(idx) < 2:
        return 0.0
    return float((np.diff(idx).max() - 1) * FRAME_S)


def load(path: Path) -> np.ndarray:
    audio, _ = sf.read(str(path), dtype="int16")
    return np.asarray(audio).reshape(-1)


async def test_phrases_play_back_to_back_without_gaps(sd_pulse: dict[str, str], phrases: list[np.ndarray],
                                                      tmp_path: Path) -> None:
    reference = np.concatenate(phrases)
    own_pause = longest_gap_s(voiced(soxr.resample(reference, RATE, REC_RATE), REC_RATE))
    spk = SpeakerOutput(AudioConfig(), RATE)
    await spk.start()
    try:
        with record_speaker(tmp_path / "out.wav", sd_pulse, rate=REC_RATE) as wav:
            spk.enqueue(phrases[0], 0)
            # the next phrases arrive while the first is playing, as they do from the voice
            await wait_for(lambda: spk.played_samples() > RATE // 2, 15.0, "half a second played", interval=0.01)
            spk.enqueue(phrases[1], 1)
            await asyncio.sleep(0.2)
            spk.enqueue(phrases[2], 2)
            await spk.wait_done()
            await asyncio.sleep(0.5)
        assert spk.played_samples() == len(reference)
    finally:
        await spk.stop()
    rec = voiced(load(wav), REC_RATE)
    heard = rec.sum() * FRAME_S
    assert heard > 0.8 * voiced(reference, RATE).sum() * FRAME_S, "the reply did not reach the speaker"
    assert spk.underflows == 0 or longest_gap_s(rec) <= own_pause + 0.03, \
        f"the device starved {spk.underflows} times (machine overloaded?)"
    assert longest_gap_s(rec) <= own_pause + 0.03, "a gap between phrases longer than the voice's own pauses"


async def test_clear_silences_the_speaker_at_once(sd_pulse: dict[str, str], phrases: list[np.ndarray],
                                                  tmp_path: Path) -> None:
    total = sum(len(p) for p in phrases)
    spk = SpeakerOutput(AudioConfig(), RATE)
    await spk.start()
    try:
        with record_speaker(tmp_path / "out.wav", sd_pulse, rate=REC_RATE) as wav:
            for seq, p in enumerate(phrases):
                spk.enqueue(p, seq)
            await wait_for(lambda: spk.played_samples() > RATE, 15.0, "one second of the reply played",
                           interval=0.01)
            at_clear = spk.played_samples() / RATE
            spk.clear()
            played_before = spk.played_samples()
            await asyncio.sleep(0.8)
            played_after = spk.played_samples()
            await spk.wait_done()
    finally:
        await spk.stop()
    assert played_before == 0 and played_after == 0, "played_samples must stop growing after clear()"
    audio = load(wav)
    flags = voiced(audio, REC_RATE)
    idx = np.flatnonzero(flags)
    assert len(idx), "nothing was played before the clear"
    # the sound stops where the reply was at clear() (+ the ~60 ms inside the device), not at its end
    heard_span = (idx[-1] - idx[0] + 1) * FRAME_S
    late = heard_span - at_clear
    assert late <= spk.latency + 0.03, f"sound went on {late:.2f} s after clear()"
    assert heard_span < total / RATE / 2
    # and the last half second of the recording is silent
    assert not flags[-int(0.5 / FRAME_S):].any()


async def test_enqueue_after_clear_plays_the_new_reply(sd_pulse: dict[str, str],
                                                       phrases: list[np.ndarray]) -> None:
    spk = SpeakerOutput(AudioConfig(), RATE)
    await spk.start()
    try:
        spk.enqueue(phrases[0], 0)
        await wait_for(lambda: spk.played_samples() > RATE // 4, 15.0, "a quarter second played", interval=0.01)
        spk.clear()
        spk.enqueue(phrases[2], 1)
        await spk.wait_done()
        assert spk.played_samples() == len(phrases[2])
    finally:
        await spk.stop()


async def test_resamples_when_the_device_rate_differs(sd_pulse: dict[str, str], phrases: list[np.ndarray],
                                                      tmp_path: Path) -> None:
    spk = SpeakerOutput(AudioConfig(), RATE, device_rate=REC_RATE)
    await spk.start()
    try:
        assert spk.device_rate == REC_RATE
        with record_speaker(tmp_path / "out.wav", sd_pulse, rate=REC_RATE) as wav:
            spk.enqueue(phrases[2], 0)
            await spk.wait_done()
            await asyncio.sleep(0.3)
        assert abs(spk.played_samples() - len(phrases[2])) <= 2, "played_samples counts at the voice's rate"
    finally:
        await spk.stop()
    heard = voiced(load(wav), REC_RATE).sum()
    assert abs(heard - voiced(phrases[2], RATE).sum()) <= 5, "the phrase plays at its own speed and pitch"


async def test_unknown_device_is_a_clear_error(sd_pulse: dict[str, str]) -> None:
    spk = SpeakerOutput(AudioConfig(output_device="no such speaker"), RATE)
    with pytest.raises(SpeakerError, match=r"no output device no such speaker.*audio.output_device"):
        await spk.start()
