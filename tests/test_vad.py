"""Voice activity on silence, noise and tones versus real speech, for both engines."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from faster_whisper import decode_audio

from core.config import VadConfig
from realtime.vad import build_vad

SR = 16000


Engine = Literal["webrtc", "silero"]
ENGINES: list[Engine] = ["webrtc", "silero"]


def decisions(engine: Engine, audio: np.ndarray) -> np.ndarray:
    vad = build_vad(VadConfig(engine=engine))
    n = vad.frame_samples
    return np.array([vad.is_speech(audio[i:i + n]) for i in range(0, len(audio) - n + 1, n)])


def pcm16(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, -1, 1) * 32767).astype(np.int16)


def over(background: np.ndarray, speech: np.ndarray, at: int = SR // 2) -> np.ndarray:
    """`speech` added on top of `background` from sample `at` on."""
    mixed = background.astype(np.int32)
    mixed[at:at + len(speech)] += speech[: len(mixed) - at]
    return np.clip(mixed, -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def jfk(jfk_path: Path) -> np.ndarray:
    return pcm16(decode_audio(str(jfk_path)))



@pytest.mark.parametrize("engine", ENGINES)
def test_speech_is_speech(engine: Engine, jfk: np.ndarray) -> None:
    speech = decisions(engine, jfk)
    assert speech.mean() > 0.6  # JFK speaks most of the 11 s, with two long pauses
    assert not speech[76:106].any()  # ...but not in the 1 s pause after "my fellow Americans" (2.2-3.2 s)


@pytest.mark.parametrize("engine", ENGINES)
def test_silence_noise_and_tone_are_not_speech(engine: Engine) -> None:
    rng = np.random.default_rng(0)
    assert not decisions(engine, np.zeros(3 * SR, dtype=np.int16)).any()
    for level in (0.01, 0.1, 0.3):  # quiet hiss to loud static
        assert decisions(engine, pcm16(rng.standard_normal(5 * SR) * level)).mean() < 0.02
    tone = pcm16(0.25 * np.sin(2 * np.pi * 440 * np.arange(4 * SR) / SR))
    assert decisions(engine, tone).mean() < 0.02


@pytest.mark.parametrize("engine", ENGINES)
def test_speech_over_the_same_silence_noise_and_tone_is_speech(engine: Engine, jfk: np.ndarray) -> None:
    """Control for the test above: the same backgrounds with three seconds of JFK on top are heard as speech.

    Not for webrtc under the loudest static (0.3): there it misses the speech too, so that case proves less."""
    rng = np.random.default_rng(0)  # the same noise as above
    speech = jfk[: 3 * SR]
    assert decisions(engine, over(np.zeros(3 * SR, dtype=np.int16), speech)).mean() > 0.3
    for level in (0.01, 0.1, 0.3):
        noisy = over(pcm16(rng.standard_normal(5 * SR) * level), speech)
        if engine == "silero" or level < 0.3:
            assert decisions(engine, noisy).mean() > 0.2, level
    tone = pcm16(0.25 * np.sin(2 * np.pi * 440 * np.arange(4 * SR) / SR))
    assert decisions(engine, over(tone, speech)).mean() > 0.05


@pytest.mark.parametrize("engine", ENGINES)
def test_steady_sound_after_silence_fades_into_background(engine: Engine, jfk: np.ndarray) -> None:
    """A hum that starts may pass for speech briefly, never for long: a steady sound is not a turn."""
    hum = pcm16(0.25 * np.sin(2 * np.pi * 220 * np.arange(6 * SR) / SR))
    background = np.concatenate([np.zeros(2 * SR, dtype=np.int16), hum])
    speech = decisions(engine, background)
    assert not speech[-100:].any()  # the last 3 s of the hum
    # control: speech in those last 3 s of the same hum is still heard
    talking = decisions(engine, over(background, jfk[: 3 * SR], at=len(background) - 3 * SR))
    assert talking[-100:].mean() > 0.1


def test_speech_in_noise_still_detected(jfk: np.ndarray) -> None:
    noise = pcm16(np.random.default_rng(2).standard_normal(len(jfk) + 2 * SR) * 0.01)
    mixed = noise.astype(np.int32)
    mixed[SR:SR + len(jfk)] += jfk
    speech = decisions("webrtc", np.clip(mixed, -32768, 32767).astype(np.int16))
    assert not speech[:30].any() and speech.mean() > 0.4


def test_frames_must_be_the_configured_size() -> None:
    vad = build_vad(VadConfig())
    assert vad.frame_samples == 480
    with pytest.raises(ValueError, match="480"):
        vad.is_speech(np.zeros(512, dtype=np.int16))
    with pytest.raises(TypeError, match="int16"):
        vad.is_speech(np.zeros(480, dtype=np.float32))
