"""Shared fixtures: the shared test audio and a private PulseAudio daemon.

Helpers that are not fixtures live in helper modules (wsclient, livebrowser, waiting, transcripts, ...), never
in test modules: no test module imports another.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests import soundserver

ROOT = Path(__file__).resolve().parent.parent
SHARED_AUDIO = ROOT.parent / "shared" / "audio"
JFK = SHARED_AUDIO / "jfk.flac"


@pytest.fixture(scope="session")
def jfk_path() -> Path:
    if not JFK.exists():
        pytest.fail(f"shared test audio missing: {JFK} (../shared must sit beside the project)")
    return JFK


@pytest.fixture(scope="session")
def jfk_audio(jfk_path: Path) -> np.ndarray:
    """jfk.flac as the listener hears it: float32 mono 16 kHz (faster-whisper's own loader resamples)."""
    from faster_whisper import decode_audio

    return np.asarray(decode_audio(str(jfk_path)), dtype=np.float32)


@pytest.fixture(scope="session")
def pulse() -> Iterator[dict[str, str]]:
    """A PulseAudio daemon for the whole session; sets PULSE_SERVER for this process too."""
    if not soundserver.available():
        pytest.fail("pulseaudio is not installed: run `make setup` (apt-get install pulseaudio pulseaudio-utils)")
    with soundserver.pulse_daemon() as env:
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture
def sounddevice_on_pulse(pulse: dict[str, str]) -> Iterator[dict[str, str]]:
    """sounddevice re-initialized so PortAudio sees the test daemon (it reads PULSE_SERVER at init)."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()
    yield pulse
