"""Audio sources: the file source (fast) and the microphone through a PulseAudio virtual mic (slow, sound)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from faster_whisper import decode_audio

from base.events import Event, FinalTranscript
from core.config import AudioConfig, SttConfig, VadConfig
from realtime.audio_in import AudioInputError, FileSource, MicrophoneSource, list_devices
from realtime.listener import Listener
from realtime.stt import build_stt
from realtime.vad import build_vad
from tests import soundserver
from tests.transcripts import JFK_TEXT, wer


async def test_file_source_delivers_the_whole_file_in_30ms_frames(jfk_path: Path) -> None:
    frames: list[np.ndarray] = []
    source = FileSource(jfk_path, speed=0, tail_silence_s=1.5)
    await source.run(frames.append)
    assert all(f.dtype == np.int16 for f in frames) and all(len(f) == 480 for f in frames[:-1])
    audio = np.concatenate(frames)
    assert len(audio) == len(decode_audio(str(jfk_path))) + 24000  # the speech plus 1.5 s of silence
    assert not audio[-24000:].any()


async def test_file_source_paces_at_the_requested_speed(jfk_path: Path) -> None:
    source = FileSource(jfk_path, speed=20.0, tail_silence_s=0)
    started = time.monotonic()
    await source.run(lambda _frame: None)
    assert time.monotonic() - started >= 11.0 / 20 * 0.9  # never faster than asked (11 s at 20x)


def test_file_source_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.wav"):
        FileSource(tmp_path / "nope.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(ValueError, match=r"bad\.wav"):
        FileSource(bad)


async def test_unknown_microphone_is_a_clear_error() -> None:
    mic = MicrophoneSource(AudioConfig(input_device="no-such-microphone"), lambda _f: None)
    with pytest.raises(AudioInputError, match=r"no-such-microphone.*launch\.py devices"):
        await mic.start()


def test_list_devices_is_readable() -> None:
    text = list_devices()
    assert "index" in text or "cannot list audio devices" in text


@pytest.mark.slow
@pytest.mark.sound
async def test_jfk_played_into_the_virtual_mic_is_transcribed(
        pulse: dict[str, str], jfk_path: Path, tmp_path: Path) -> None:
    import sounddevice as sd

    sd._terminate()  # PortAudio read PULSE_SERVER when first imported: make it see the test daemon
    sd._initialize()
    assert "default input" in list_devices()
    wav = tmp_path / "jfk.wav"
    sf.write(wav, decode_audio(str(jfk_path)), 16000)
    vad_cfg, stt_cfg = VadConfig(silence_ms=1500), SttConfig()  # one turn for JFK's 1.1 s pauses
    events: list[Event] = []
    listener = Listener(build_vad(vad_cfg), build_stt(stt_cfg), vad_cfg, stt_cfg, events.append)
    mic = MicrophoneSource(AudioConfig(), listener.push, on_error=events.append)
    await mic.start()
    try:
        for _ in range(100):  # the first input callback comes 0.2-1.75 s after start
            if mic.frames_in:
                break
            await asyncio.sleep(0.05)
        assert mic.frames_in, "no audio from the virtual microphone"
        player = soundserver.play_into_mic(wav, pulse)
        await asyncio.to_thread(player.wait, 30)
        for _ in range(200):
            if any(isinstance(e, FinalTranscript) for e in events):
                break
            await asyncio.sleep(0.1)
    finally:
        await mic.stop()
        await listener.aclose()
    finals = [e for e in events if isinstance(e, FinalTranscript)]
    assert len(finals) == 1, events
    assert wer(JFK_TEXT, finals[0].text) <= 0.15, finals[0].text
    assert mic.device_rate > 0
