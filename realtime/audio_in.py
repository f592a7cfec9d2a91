"""Where the user's voice comes from: the desktop microphone or an audio file, both as 16 kHz int16 frames.

The microphone runs a continuous PortAudio stream. Its callback runs on PortAudio's thread and must never
block, so it only copies the block (down-mixed to mono) and hands it to the event loop with
`call_soon_threadsafe`; resampling (soxr's streaming resampler, which keeps filter state across blocks)
and the listener run on the loop. sounddevice is imported lazily: PortAudio reads PULSE_SERVER when it
initializes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from base.audio import LISTEN_RATE, to_int16
from base.events import ErrorCode, ErrorEvent, Event
from base.status import FixableError
from core.config import AudioConfig

log = logging.getLogger(__name__)

FRAME_SAMPLES = 480  # 30 ms
OVERFLOW_REPORT_EVERY_S = 5.0


class AudioInputError(FixableError):
    """The microphone cannot be opened; `problem` names the device, `fix` what to do."""


def _sounddevice() -> Any:
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        raise AudioInputError(f"PortAudio is not available ({exc})", "apt-get install libportaudio2") from exc
    return sd


class MicrophoneSource:
    """Continuous capture from `audio.input_device`, delivered as int16 mono 16 kHz to `on_frame`."""

    def __init__(self, cfg: AudioConfig, on_frame: Callable[[np.ndarray], None],
                 on_error: Callable[[Event], None] | None = None) -> None:
        self.cfg = cfg
        self.on_frame = on_frame
        self.on_error = on_error
        self.overflows = 0
        self.frames_in = 0  # input callbacks seen: lets a caller wait until audio really flows
        self.device_name = ""
        self.device_rate = 0
        self._stream: Any = None
        self._resampler: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_report = float("-inf")

    def _resolve(self, sd: Any) -> tuple[int | str | None, dict[str, Any]]:
        device = self.cfg.input_device
        if isinstance(device, str) and device.strip().isdigit():
            device = int(device)
        try:
            info = sd.query_devices(device, "input")
        except (ValueError, sd.PortAudioError) as exc:
            name = "the default input device" if device is None else f"input device {device!r}"
            raise AudioInputError(f"{name} not found ({exc})", "run `python launch.py devices` to list the "
                                  "microphones and set audio.input_device to one of them") from exc
        if int(info["max_input_channels"]) < 1:
            raise AudioInputError(f"device {info['name']!r} has no input channels", "pick a microphone from "
                                  "`python launch.py devices` (audio.input_device)")
        return device, dict(info)

    async def start(self) -> None:
        import soxr

        sd = _sounddevice()
        self._loop = asyncio.get_running_loop()
        device, info = self._resolve(sd)
        rate = int(self.cfg.input_rate or info["default_samplerate"])
        self.device_name, self.device_rate = str(info["name"]), rate
        self._resampler = (None if rate == LISTEN_RATE
                           else soxr.ResampleStream(rate, LISTEN_RATE, 1, dtype="float32"))
        channels = 1
        try:
            sd.check_input_settings(device=device, channels=1, samplerate=rate, dtype="float32")
        except Exception:  # some hardware devices only open in stereo: take both, average them
            channels = min(2, int(info["max_input_channels"]))
        try:
            self._stream = sd.InputStream(
                device=device, samplerate=rate, channels=channels, dtype="float32",
                blocksize=max(1, rate * self.cfg.blocksize_ms // 1000), callback=self._callback)
            self._stream.start()
        except Exception as exc:
            self._stream = None
            raise AudioInputError(f"could not open input device {self.device_name!r} at {rate} Hz ({exc})",
                                  "set audio.input_rate to a rate it supports, or pick another device "
                                  "(`python launch.py devices`)") from exc
        log.info("microphone %r open at %d Hz", self.device_name, rate)

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: copy and hand over, nothing else."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        block = indata.mean(axis=1) if indata.ndim == 2 else indata.copy()  # mean() makes a new array
        overflow = bool(status and status.input_overflow)
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            loop.call_soon_threadsafe(self._deliver, block, overflow)

    def _deliver(self, block: np.ndarray, overflow: bool) -> None:
        self.frames_in += 1
        if overflow:
            self._overflowed()
        pcm = block if self._resampler is None else self._resampler.resample_chunk(block)
        if len(pcm):
            self.on_frame(to_int16(pcm))

    def _overflowed(self) -> None:
        self.overflows += 1
        t = time.monotonic()
        if t - self._last_report < OVERFLOW_REPORT_EVERY_S:
            return
        self._last_report = t
        log.warning("microphone overflow (%d so far): audio was lost", self.overflows)
        if self.on_error is not None:
            self.on_error(ErrorEvent(turn_id="", code=ErrorCode.AUDIO_INPUT, recoverable=True,
                                     message=f"microphone input overflowed ({self.overflows} times so far): "
                                             "some audio was lost; the machine may be overloaded"))

    async def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(stream.close)
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            self._resampler = None
            if len(tail):
                self.on_frame(to_int16(tail))


class FileSource:
    """An audio file fed like a microphone: 30 ms frames, paced at `speed` (1.0 real time, 0 at once)."""

    def __init__(self, path: str | Path, speed: float = 1.0, tail_silence_s: float = 1.5) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"audio file {self.path} does not exist (give a WAV, FLAC or MP3 file)")
        if speed < 0:
            raise ValueError(f"speed = {speed}: use 1.0 for real time, 2.0 for twice as fast, 0 for no "
                             "pacing")
        from faster_whisper import decode_audio

        try:
            audio = decode_audio(str(self.path), sampling_rate=LISTEN_RATE)
        except Exception as exc:
            raise ValueError(f"cannot decode audio file {self.path} ({exc}): give a WAV, FLAC or MP3 "
                             "file") from exc
        tail = np.zeros(int(tail_silence_s * LISTEN_RATE), dtype=np.int16)
        # the tail of silence lets the VAD see the end of the last utterance
        self.pcm = np.concatenate([to_int16(np.asarray(audio, dtype=np.float32)), tail])
        self.speed = speed
        self.duration_s = len(self.pcm) / LISTEN_RATE

    async def run(self, on_frame: Callable[[np.ndarray], None]) -> None:
        await feed(self.pcm, on_frame, self.speed)


async def feed(pcm: np.ndarray, on_frame: Callable[[np.ndarray], None], speed: float = 1.0) -> None:
    """Hand int16 16 kHz audio to `on_frame` in 30 ms frames, paced like a microphone (`speed` 0: at once)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, pos in enumerate(range(0, len(pcm), FRAME_SAMPLES)):
        if speed > 0:
            delay = start + i * FRAME_SAMPLES / LISTEN_RATE / speed - loop.time()
            await asyncio.sleep(max(0.0, delay))
        else:
            await asyncio.sleep(0)  # let decodes and event sinks run between frames
        on_frame(pcm[pos:pos + FRAME_SAMPLES])


def list_devices() -> str:
    """Human-readable list of audio devices for `python launch.py devices`."""
    try:
        sd = _sounddevice()
        devices = sd.query_devices()
        default_in, default_out = sd.default.device
    except Exception as exc:
        return f"cannot list audio devices: {exc}"
    lines = ["index  in  out  rate    name"]
    for d in devices:
        marks = []
        if d["index"] == default_in:
            marks.append("default input")
        if d["index"] == default_out:
            marks.append("default output")
        tag = f"  ({', '.join(marks)})" if marks else ""
        lines.append(f"{d['index']:>5}  {d['max_input_channels']:>2}  {d['max_output_channels']:>3}  "
                     f"{int(d['default_samplerate']):>6}  {d['name']}{tag}")
    if len(lines) == 1:
        lines.append("(no audio devices: is a sound server running? on Linux try `pactl info`)")
    lines.append("Set audio.input_device / audio.output_device in config/config.yaml to an index or a name.")
    return "\n".join(lines)
