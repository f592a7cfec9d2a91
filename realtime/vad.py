"""Voice activity: is this 10/20/30 ms frame of 16 kHz int16 audio speech?

Two engines behind one Protocol. webrtcvad is nearly free but calls any loud broadband sound speech (steady
white noise, a fan, a tone), so it is paired with a background gate: a frame counts only when it also stands
out from the quietest level of the last two seconds, which steady sounds never do. Silero v6 (the ONNX file
faster-whisper ships, run with onnxruntime, no torch) is a neural model that already rejects noise and tones;
it costs about 0.3 ms a window.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Protocol

import numpy as np

from base.audio import LISTEN_RATE, Reframer, to_float32
from core.config import VadConfig

# Background gate for webrtcvad: speech must be this much louder than the floor, the floor being the
# quietest frame of the last GATE_WINDOW_S seconds; anything under ABS_FLOOR_DB (dBFS) is silence.
GATE_SNR_DB = 6.0
GATE_WINDOW_S = 2.0
ABS_FLOOR_DB = -60.0

SILERO_WINDOW = 512  # samples the v6 model takes at 16 kHz (plus 64 of context)
SILERO_CONTEXT = 64


class VoiceActivity(Protocol):
    """A per-frame speech detector with state (both engines adapt to what they heard)."""

    frame_samples: int

    def is_speech(self, frame: np.ndarray) -> bool: ...

    def reset(self) -> None: ...


def _check_frame(frame: np.ndarray, frame_samples: int) -> np.ndarray:
    pcm = np.asarray(frame).reshape(-1)
    if pcm.dtype != np.int16:
        raise TypeError(f"VAD frames must be int16 PCM, got {pcm.dtype} "
                        "(convert with (x * 32767).astype(np.int16))")
    if len(pcm) != frame_samples:
        raise ValueError(f"VAD frame has {len(pcm)} samples, expected {frame_samples} (16 kHz, vad.frame_ms)")
    return pcm


def frame_db(pcm: np.ndarray) -> float:
    """Level of a frame in dBFS (full-scale sine = -3 dB)."""
    x = to_float32(pcm)
    return float(10.0 * np.log10(float(np.mean(x * x)) + 1e-12))


class WebRtcVad:
    """webrtcvad at the configured aggressiveness, gated by level above the recent background."""

    def __init__(self, mode: int = 3, frame_ms: int = 30) -> None:
        import webrtcvad

        if frame_ms not in (10, 20, 30):
            raise ValueError(f"vad.frame_ms = {frame_ms}: webrtcvad takes 10, 20 or 30 ms frames")
        self._vad = webrtcvad.Vad(mode)
        self.frame_samples = LISTEN_RATE * frame_ms // 1000
        self._levels: deque[float] = deque(maxlen=max(1, int(GATE_WINDOW_S * 1000 / frame_ms)))

    def is_speech(self, frame: np.ndarray) -> bool:
        pcm = _check_frame(frame, self.frame_samples)
        level = frame_db(pcm)
        self._levels.append(level)
        if level < ABS_FLOOR_DB or level - min(self._levels) < GATE_SNR_DB:
            return False
        return bool(self._vad.is_speech(pcm.tobytes(), LISTEN_RATE))

    def reset(self) -> None:
        self._levels.clear()


def silero_model_path() -> Path:
    """The Silero v6 ONNX file inside the installed faster-whisper package."""
    import faster_whisper

    return Path(os.path.dirname(faster_whisper.__file__)) / "assets" / "silero_vad_v6.onnx"


class SileroVad:
    """Silero v6 through onnxruntime. Frames are buffered into its 512-sample windows; a frame takes the
    decision of the latest window (frames are 480 samples, so a window closes on almost every frame)."""

    def __init__(self, threshold: float = 0.5, frame_ms: int = 30) -> None:
        import onnxruntime as ort

        path = silero_model_path()
        if not path.exists():
            raise FileNotFoundError(f"Silero VAD model missing at {path}: reinstall faster-whisper>=1.2")
        opts = ort.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"], sess_options=opts)
        self.threshold = threshold
        self.frame_samples = LISTEN_RATE * frame_ms // 1000
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(SILERO_CONTEXT, dtype=np.float32)
        self._windows = Reframer(SILERO_WINDOW, np.float32)
        self._prob = 0.0

    def probability(self, window: np.ndarray) -> float:
        """Run one 512-sample float window, carrying the recurrent state and the 64-sample context."""
        x = np.concatenate([self._context, window])[None, :]
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = window[-SILERO_CONTEXT:]
        return float(np.asarray(out).reshape(-1)[0])

    def is_speech(self, frame: np.ndarray) -> bool:
        pcm = _check_frame(frame, self.frame_samples)
        for window in self._windows.push(to_float32(pcm)):
            self._prob = self.probability(window)
        return self._prob >= self.threshold


def build_vad(cfg: VadConfig) -> VoiceActivity:
    """The configured engine (`vad.engine`: webrtc or silero)."""
    if cfg.engine == "silero":
        return SileroVad(threshold=cfg.silero_threshold, frame_ms=cfg.frame_ms)
    return WebRtcVad(mode=cfg.mode, frame_ms=cfg.frame_ms)
