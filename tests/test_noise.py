"""A cough, a knock or a rumble while nobody speaks must not become a turn (the assistant answered "I'm, uh...").

Whisper primed with the pause prompt wrote noise as words of the prompt; its no-speech gate is now set for
primed decodes (realtime.stt.PRIMED_NO_SPEECH), and short spoken answers must still come through.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.bench_voices import espeak_say
from base.events import Event, FinalTranscript
from core.config import SttConfig, TurnConfig, VadConfig
from realtime.audio_in import feed
from realtime.end_of_turn import build_end_of_turn, model_path
from realtime.listener import Listener
from realtime.stt import PAUSE_PROMPT, WhisperSTT
from realtime.vad import build_vad

RATE = 16000


def burst(kind: str, seconds: float, amp: float, seed: int = 3) -> np.ndarray:
    """Noise the way a microphone gets it: a cough (decaying hiss), a rumble (brown noise), knocks (clicks)."""
    t = np.arange(int(seconds * RATE)) / RATE
    white = np.random.default_rng(seed).normal(0, 1, len(t))
    if kind == "cough":
        x = white * np.exp(-t * 6)
    elif kind == "rumble":
        x = np.cumsum(white)
        x -= np.convolve(x, np.ones(400) / 400, "same")
        x /= np.abs(x).max()
    else:
        x = np.zeros(len(t))
        x[::1600] = 1
        x = np.convolve(x, np.exp(-np.arange(200) / 20), "same")
    return np.clip(x * amp * 32767, -32767, 32767).astype(np.int16)


NOISES = [("cough", 0.45, 0.1), ("cough", 0.6, 0.3), ("cough", 0.8, 0.6), ("rumble", 0.6, 0.4), ("knocks", 1.2, 0.2)]


@pytest.fixture(scope="module")
def whisper() -> WhisperSTT:
    return WhisperSTT(SttConfig())


def as_float(pcm: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros(4800, np.float32), pcm.astype(np.float32) / 32768, np.zeros(1440, np.float32)])


def test_primed_decodes_drop_noise_and_keep_short_answers(whisper: WhisperSTT) -> None:
    noise = {f"{k} {s} s": whisper.transcribe(as_float(burst(k, s, a)), final=True, prompt=PAUSE_PROMPT)
             for k, s, a in NOISES}
    assert not any(noise.values()), noise
    answers = {f"{text} ({voice})": whisper.transcribe(as_float(espeak_say(text, voice)), final=True,
                                                       prompt=PAUSE_PROMPT)
               for text in ("Yes.", "No.", "Why?", "Um.", "Seven.", "Oh.") for voice in ("en-us", "en+f3")}
    assert all(answers.values()), answers


@pytest.mark.skipif(not model_path(TurnConfig()).exists(), reason="no Smart Turn model: make turn-model")
async def test_noise_while_nobody_speaks_opens_no_turn(whisper: WhisperSTT) -> None:
    """Real time, real webrtcvad (which takes most of these bursts for speech), Whisper and Smart Turn: no final."""
    judge = build_end_of_turn(TurnConfig())
    vad_cfg = VadConfig()
    opened = 0
    for kind, seconds, amp in NOISES:
        events: list[Event] = []
        listener = Listener(build_vad(vad_cfg), whisper, vad_cfg, SttConfig(), events.append, judge=judge,
                            turn_cfg=TurnConfig())
        silence = np.zeros(int(0.3 * RATE), dtype=np.int16)
        await feed(np.concatenate([silence, burst(kind, seconds, amp), silence, silence, silence, silence]),
                   listener.push)
        await listener.flush()
        await listener.aclose()
        opened += "speech_started" in [e.type for e in events]
        assert not [e.text for e in events if isinstance(e, FinalTranscript)], (kind, seconds, amp)
    assert opened >= 3, "control: the VAD took the coughs and the rumble for speech"


def louder_burst(kind: str, seconds: float, db: float, seed: int) -> np.ndarray:
    """Pink noise (a fan starting, a rustle) or applause (a train of decaying claps), `db` below full scale RMS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    if kind == "pink":
        x = np.cumsum(rng.normal(0, 1, n))
        x -= np.convolve(x, np.ones(50) / 50, "same")
    else:
        clap = np.arange(640)
        x = np.concatenate([rng.normal(0, 1, 640) * np.exp(-clap / 128) * (rng.random() + 0.3)
                            for _ in range(n // 640 + 1)])[:n]
    x = x / np.sqrt(np.mean(x**2)) * 10 ** (db / 20)
    return np.clip(x * 32767, -32767, 32767).astype(np.int16)


def tight(pcm: np.ndarray) -> np.ndarray:
    """The sound from its first sample, then 94 ms of silence: how a noise that opened an utterance is decoded."""
    return np.concatenate([pcm.astype(np.float32) / 32768, np.zeros(1500, np.float32)])


def test_noise_whisper_finds_likely_words_for_is_still_dropped(whisper: WhisperSTT) -> None:
    """Pink noise and applause came out as "I'm, I'm, I'm..." with a logprob over -1, which kept the segment
    whatever its no_speech_prob (0.78-0.87 here): in the listener such a burst opened a turn that got a reply."""
    cases = (("pink", 0.8, -30, 5), ("applause", 0.3, -30, 2), ("applause", 0.3, -20, 1))
    noise = {f"{k} {s} s {db} dB #{seed}": whisper.transcribe(tight(louder_burst(k, s, db, seed)), final=True,
                                                             prompt=PAUSE_PROMPT)
             for k, s, db, seed in cases}
    assert not any(noise.values()), noise
    answers = {f"{text} ({voice})": whisper.transcribe(tight(espeak_say(text, voice)), final=True,
                                                       prompt=PAUSE_PROMPT)
               for text in ("Five.", "Stop.", "Okay.", "Thanks.", "Why?") for voice in ("en-us+m3", "en+m1")}
    assert all(answers.values()), answers
