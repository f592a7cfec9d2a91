"""Echo cancellation for open speakers: the assistant's own voice leaves the mic, the user's voice stays.

The far end is real speech (espeak-ng) handed over the way the desktop speaker does it (10 ms blocks at its
own rate, from another thread); the near end is that speech coming back delayed and quieter, with noise, and
sometimes the user (jfk.flac) talking over it. webrtcvad, the detector the listener uses, judges the result.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import soxr
import webrtcvad
from faster_whisper import decode_audio

from app.ollama_sim import OllamaSim
from core.assistant import Assistant
from core.config import load_settings
from core.llm import OllamaChat
from realtime.audio_out import BufferedOutput
from realtime.echo import EchoCanceller, EchoCancellerError
from realtime.engines import Engines
from realtime.speaker import SpeakerOutput
from realtime.voice_agent import VoiceAgent
from tests.fakes import FixedSTT, ListHistory, ToneTTS

FAR_RATE = 22050  # Piper's and espeak's rate: the speaker plays at it, the canceller resamples
FAR_BLOCK = FAR_RATE // 100  # what SpeakerOutput hands the device per callback
NEAR_CHUNK = 480  # 30 ms, what the microphone source delivers
LEAD_S = 1.0  # silence before the reply starts
STORY = ("Here is part one of a long story about a lighthouse keeper and her cat. She lived on a rock far out "
         "at sea, and every night she climbed the stairs to light the lamp for the ships.")


@pytest.fixture(scope="module")
def far_speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The assistant's reply as the speaker plays it: int16 at 22050 Hz, after a second of silence."""
    wav = tmp_path_factory.mktemp("echo") / "reply.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), STORY], check=True, capture_output=True)
    audio, rate = sf.read(wav, dtype="int16")
    audio = soxr.resample(audio, rate, FAR_RATE) if rate != FAR_RATE else audio
    return np.concatenate([np.zeros(int(LEAD_S * FAR_RATE), np.int16), audio])


@pytest.fixture(scope="module")
def user_speech(jfk_path: Path) -> np.ndarray:
    return (decode_audio(str(jfk_path)) * 32767 * 0.5).astype(np.int16)


def echo_of(far: np.ndarray, *, delay_ms: int = 80, gain: float = 0.5, noise: float = 60.0,
            user: np.ndarray | None = None, user_at_s: float = 2.0) -> np.ndarray:
    """What the mic hears at 16 kHz: the played audio after the room (delay, attenuation), noise, the user."""
    far16 = soxr.resample(far, FAR_RATE, 16000).astype(np.float64)
    d = delay_ms * 16
    mic = np.concatenate([np.zeros(d), far16[: len(far16) - d]]) * gain
    mic += np.random.default_rng(1).normal(0.0, noise, len(mic))
    if user is not None:
        at = int(user_at_s * 16000)
        take = min(len(user), len(mic) - at)
        mic[at:at + take] += user[:take]
    return np.clip(mic, -32768, 32767).astype(np.int16)


def play_blocks(aec: EchoCanceller, blocks: list[np.ndarray]) -> None:
    for b in blocks:  # on its own thread, like PortAudio's callback
        aec.far(b, FAR_RATE)


def run_duplex(aec: EchoCanceller, far: np.ndarray | None, mic: np.ndarray) -> np.ndarray:
    """Play and record in step like a sound card: the speaker thread reports each block before the mic
    chunk it overlaps is cleaned."""
    out: list[np.ndarray] = []
    fed = 0
    for pos in range(0, len(mic) - NEAR_CHUNK + 1, NEAR_CHUNK):
        if far is not None:
            due = (pos + NEAR_CHUNK) * FAR_RATE // 16000
            blocks = []
            while fed + FAR_BLOCK <= due:
                blocks.append(far[fed:fed + FAR_BLOCK])
                fed += FAR_BLOCK
            t = threading.Thread(target=play_blocks, args=(aec, blocks))
            t.start()
            t.join()
        out.append(aec.near(mic[pos:pos + NEAR_CHUNK]))
    return np.concatenate(out)


def level_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-9))


def speech_share(x: np.ndarray) -> float:
    vad = webrtcvad.Vad(3)
    frames = [x[i:i + 480] for i in range(0, len(x) - 479, 480)]
    return float(np.mean([vad.is_speech(f.tobytes(), 16000) for f in frames]))


def test_the_assistants_own_voice_is_removed_from_the_mic(far_speech: np.ndarray) -> None:
    mic = echo_of(far_speech)
    clean = run_duplex(EchoCanceller(16000), far_speech, mic)
    start = int((LEAD_S + 1.0) * 16000)  # AEC3 adapts during the first second of the reply
    assert speech_share(mic[start:]) > 0.6  # without cancelling, the listener would hear speech
    assert level_db(mic[start:]) - level_db(clean[start:len(mic)]) >= 20
    assert speech_share(clean[start:]) <= 0.03
    # even while it adapts, the echo never reaches the 300 ms of speech that confirm a barge-in
    vad = webrtcvad.Vad(3)
    frames = [clean[i:i + 480] for i in range(0, len(clean) - 479, 480)]
    flags = [vad.is_speech(f.tobytes(), 16000) for f in frames]
    longest = max((len(run) for run in "".join("1" if f else "0" for f in flags).split("0")), default=0)
    assert longest * 30 < 300


def test_the_users_voice_over_the_echo_stays(far_speech: np.ndarray, user_speech: np.ndarray) -> None:
    at_s = LEAD_S + 1.5
    mic = echo_of(far_speech, user=user_speech, user_at_s=at_s)
    clean = run_duplex(EchoCanceller(16000), far_speech, mic)
    s, e = int(at_s * 16000), len(clean)
    alone = speech_share(user_speech[: e - s])
    assert alone > 0.5
    assert speech_share(clean[s:e]) >= 0.7 * alone  # the user is still heard as speech over the reply
    assert level_db(clean[s:e]) > level_db(mic[s:e]) - 10  # and not cancelled away with the echo


def test_without_playback_the_mic_passes_through(user_speech: np.ndarray) -> None:
    mic = user_speech[: 16000 * 4]
    clean = run_duplex(EchoCanceller(16000), None, mic)
    assert abs(level_db(clean) - level_db(mic[: len(clean)])) < 3
    assert speech_share(clean) >= 0.9 * speech_share(mic)


def test_output_length_follows_the_input_in_whole_frames() -> None:
    aec = EchoCanceller(16000)
    sizes = [100, 100, 500, 7, 253]  # 1000 samples: six whole 10 ms frames, 40 samples held back
    outs = [aec.near(np.zeros(n, np.int16)) for n in sizes]
    assert [len(o) for o in outs] == [0, 160, 480, 0, 320]
    assert all(o.dtype == np.int16 for o in outs)
    assert len(aec.near(np.zeros(0, np.int16))) == 0


def test_far_audio_piling_up_without_the_mic_stays_bounded(far_speech: np.ndarray) -> None:
    aec = EchoCanceller(16000)
    for pos in range(0, FAR_RATE * 5, FAR_BLOCK):  # five seconds played, mic never read
        aec.far(far_speech[pos:pos + FAR_BLOCK], FAR_RATE)
    assert len(aec.near(np.zeros(480, np.int16))) == 480
    assert aec.dropped_far_frames > 300 and aec.far_frames <= 100  # only the last second was kept


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="44100"):
        EchoCanceller(44100)
    with pytest.raises(TypeError, match="int32"):
        EchoCanceller(16000).near(np.zeros(160, np.int32))


# --- the speaker's hook -------------------------------------------------------------------------------
def started_speaker(rate: int = FAR_RATE) -> SpeakerOutput:
    """A SpeakerOutput whose device is this test: `_callback` is driven by hand."""
    spk = SpeakerOutput(load_settings().audio, rate)
    spk._stream = object()  # enqueue() only checks that start() ran
    return spk


def test_speaker_reports_exactly_what_it_hands_the_device() -> None:
    spk = started_speaker()
    got: list[tuple[np.ndarray, int]] = []
    remove = spk.add_played_listener(lambda block, rate: got.append((block, rate)))
    phrase = (np.arange(300) - 150).astype(np.int16)
    spk.enqueue(phrase, 0)
    for _ in range(2):
        outdata = np.full((220, 1), 999, np.int16)
        spk._callback(outdata, 220, None, None)
        assert np.array_equal(got[-1][0], outdata[:, 0]) and got[-1][1] == FAR_RATE
    assert np.array_equal(np.concatenate([g[0] for g in got])[:300], phrase)
    assert not np.any(got[-1][0][80:])  # silence after the phrase is reported too (keeps the lockstep)
    remove()
    spk._callback(np.zeros((220, 1), np.int16), 220, None, None)
    assert len(got) == 2


def test_a_failing_listener_does_not_silence_the_speaker(caplog: pytest.LogCaptureFixture) -> None:
    spk = started_speaker()

    def broken(block: np.ndarray, rate: int) -> None:
        raise RuntimeError("listener bug")

    spk.add_played_listener(broken)
    spk.enqueue(np.full(220, 1234, np.int16), 0)
    outdata = np.zeros((220, 1), np.int16)
    with caplog.at_level(logging.ERROR):
        spk._callback(outdata, 220, None, None)
    assert np.all(outdata == 1234) and spk.played_samples() == 220
    assert "listener" in caplog.text


# --- the policy in the voice agent ----------------------------------------------------------------------
def make_agent(output: Any, policy: str = "echo_cancel", ollama_url: str | None = None) -> VoiceAgent:
    s = load_settings()
    s.barge_in.policy = policy  # type: ignore[assignment]
    if ollama_url is not None:
        s.ollama.host = ollama_url
    history = ListHistory()
    engines = Engines(s, FixedSTT(), ToneTTS(), Assistant(s, OllamaChat(s.ollama), history), history)  # type: ignore[arg-type]
    return VoiceAgent(engines, output)


async def test_echo_cancel_policy_cleans_the_mic_with_what_the_speaker_played(far_speech: np.ndarray) -> None:
    spk = started_speaker()
    agent = make_agent(spk)
    assert agent.barge_in.echo is not None and agent.barge_policy == "echo_cancel"
    heard: list[np.ndarray] = []
    assert agent.listener is not None
    agent.listener.push = heard.append  # type: ignore[method-assign,assignment]
    spk.enqueue(far_speech[: FAR_RATE * 3], 0)
    mic = echo_of(far_speech[: FAR_RATE * 3])
    for pos in range(0, len(mic) - NEAR_CHUNK + 1, NEAR_CHUNK):
        for _ in range(100):  # the device plays in step: a few blocks per mic chunk
            if spk.played_samples() * 16000 >= (pos + NEAR_CHUNK) * FAR_RATE:
                break
            spk._callback(np.zeros((FAR_BLOCK, 1), np.int16), FAR_BLOCK, None, None)
        else:
            raise AssertionError(f"the speaker stopped counting played samples at {spk.played_samples()}")
        agent.push_audio(mic[pos:pos + NEAR_CHUNK])
    clean = np.concatenate(heard)
    s = int((LEAD_S + 1.0) * 16000)
    assert agent.barge_in.echo.far_frames > 250  # the reference really came from the speaker
    assert level_db(mic[s:len(clean)]) - level_db(clean[s:]) >= 20
    assert spk._played_listeners  # control: attached while the session is open
    await agent.aclose()
    assert spk._played_listeners == []  # closing the session detaches the canceller


async def test_outputs_without_the_hook_fall_back_to_headset(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        agent = make_agent(BufferedOutput(22050))
    assert agent.barge_in.echo is None and agent.barge_policy == "headset"
    assert "echo_cancel" in caplog.text


async def test_without_the_canceller_the_mic_is_ignored_while_speaking(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def unavailable(rate: int) -> EchoCanceller:
        raise EchoCancellerError("barge_in.policy echo_cancel needs WebRTC's echo canceller: `pip install livekit`")

    monkeypatch.setattr("realtime.echo.EchoCanceller", unavailable)
    with caplog.at_level(logging.WARNING):
        agent = make_agent(started_speaker())
    assert agent.barge_in.echo is None and agent.barge_policy == "ignore_while_speaking"  # never interrupts itself
    assert "pip install livekit" in caplog.text


async def user_talks(agent: VoiceAgent, speech: np.ndarray, *, while_speaking: bool) -> list[str]:
    """Push 1.5 s of the user's speech (with the reply playing, if asked); the event types the agent emitted."""
    events: list[str] = []
    remove = agent.subscribe(lambda e: events.append(e.type))
    if while_speaking:
        agent.barge_in.speaking_started()  # what the agent does once the reply is heard
    for pos in range(0, 16000 * 3 // 2, NEAR_CHUNK):
        agent.push_audio(speech[pos:pos + NEAR_CHUNK])
    if while_speaking:
        agent.barge_in.speaking_stopped()
    remove()
    return events


async def test_without_the_canceller_the_users_voice_is_dropped_only_while_speaking(
        monkeypatch: pytest.MonkeyPatch, user_speech: np.ndarray) -> None:
    """The fallback's effect: the user's voice over the reply starts nothing; the same voice after it does."""
    def unavailable(rate: int) -> EchoCanceller:
        raise EchoCancellerError("no canceller in this test")

    monkeypatch.setattr("realtime.echo.EchoCanceller", unavailable)
    with OllamaSim() as sim:
        agent = make_agent(started_speaker(), ollama_url=sim.url)
        assert agent.barge_policy == "ignore_while_speaking"
        assert await user_talks(agent, user_speech, while_speaking=True) == []
        assert "speech_started" in await user_talks(agent, user_speech, while_speaking=False)  # control
        await agent.aclose()


async def test_with_a_headset_the_same_voice_while_speaking_starts_a_turn(user_speech: np.ndarray) -> None:
    """Control for the fallback above: under `headset` the voice over the reply is heard."""
    with OllamaSim() as sim:
        agent = make_agent(started_speaker(), policy="headset", ollama_url=sim.url)
        assert agent.barge_policy == "headset"
        assert "speech_started" in await user_talks(agent, user_speech, while_speaking=True)
        await agent.aclose()
