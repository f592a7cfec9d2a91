"""Coqui TTS (the optional `coqui-tts` extra): good local voices, but no weights ship with it.

Every Coqui model downloads at first use, which cannot work offline; so this voice only ever loads a model
that is already on disk (a local folder, or one Coqui downloaded earlier) and otherwise reports, without
importing anything heavy, exactly what to install or fetch.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from base.audio import to_pcm16
from base.status import ComponentStatus
from realtime.tts.base import TtsError, Voice

INSTALL_FIX = "pip install '.[coqui]'"


def coqui_installed() -> bool:
    return importlib.util.find_spec("TTS") is not None


def coqui_model_dir(model: str) -> Path:
    """Where a model lives: the path itself, or Coqui's download folder for a model name."""
    p = Path(model).expanduser()
    if p.exists() or ("/" in model and not model.startswith("tts_models/")):
        return p
    base = Path(os.environ.get("TTS_HOME") or os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share")
    return base / "tts" / model.replace("/", "--")


class CoquiTTS(Voice):
    name = "coqui"

    def __init__(self, model: str = "tts_models/en/ljspeech/vits", *, sample_rate: int = 22050) -> None:
        self.model = model
        super().__init__(sample_rate=sample_rate)
        self._tts: Any = None
        self._lock = threading.Lock()

    def _missing(self) -> tuple[str, str] | None:
        """(detail, fix) when this voice cannot work here; None when it can."""
        if not coqui_installed():
            return ("coqui-tts is not installed (optional extra)",
                    f"{INSTALL_FIX}, then put the model {self.model} on disk")
        folder = coqui_model_dir(self.model)
        if not folder.exists():
            return (f"model {self.model} is not on disk ({folder})",
                    f"on a machine with internet run `tts --model_name {self.model} --text hi` and copy "
                    f"{folder.name} to {folder.parent}, or set tts.coqui_model to a local model folder")
        return None

    def _load_sync(self) -> Any:
        with self._lock:
            if self._tts is None:
                from TTS.api import TTS

                folder = coqui_model_dir(self.model)
                if Path(self.model).expanduser().exists():
                    self._tts = TTS(model_path=str(folder / "model.pth"),
                                    config_path=str(folder / "config.json"), progress_bar=False)
                else:  # a model name whose files are already in Coqui's folder: no download happens
                    self._tts = TTS(self.model, progress_bar=False)
            return self._tts

    def _synth_sync(self, text: str) -> np.ndarray:
        tts = self._load_sync()
        with self._lock:
            wav = tts.tts(text)
            rate = int(getattr(tts.synthesizer, "output_sample_rate", 22050))
        return to_pcm16(np.asarray(wav, dtype=np.float32), rate, self.sample_rate)

    async def _synthesize_impl(self, text: str) -> np.ndarray:
        missing = self._missing()
        if missing:
            raise TtsError(f"coqui unavailable: {missing[0]} (fix: {missing[1]})")
        return await asyncio.to_thread(self._synth_sync, text)

    async def probe(self) -> ComponentStatus:
        missing = self._missing()
        if missing:
            return ComponentStatus(self.name, False, missing[0], missing[1])
        return ComponentStatus(self.name, True, f"{self.model} on disk", "")

    async def aclose(self) -> None:
        self._tts = None
