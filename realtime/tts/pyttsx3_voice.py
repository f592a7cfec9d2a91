"""pyttsx3 + espeak-ng: the last-resort offline voice, robotic but tiny and instant.

The engine is not thread-safe (two threads in `runAndWait` lose audio and deadlock), and pyttsx3 caches one per
driver for the whole process, so ONE worker thread owns it for the process's life and takes phrases from a queue;
callers (any voice, task or thread) just wait on a future.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from base.audio import to_pcm16
from base.status import ComponentStatus
from realtime.tts.base import Voice

log = logging.getLogger(__name__)
# How long to wait for the phrase's file, per try: the espeak driver's, then the espeak-ng program's. Seen in CI: a
# phrase the driver never wrote, or wrote empty (5 s, then "produced no audio").
RETRY_WAITS_S = (2.0, 5.0)


def _read_when_written(wav: Path, timeout_s: float = 5.0) -> tuple[np.ndarray, int]:
    """The espeak driver writes the file from espeak's own callback, which can come after `runAndWait` has
    returned (seen: a second phrase read back empty or "format not recognised"): wait for a whole file."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            audio, rate = sf.read(str(wav), dtype="int16", always_2d=False)
            if len(audio):
                return audio, int(rate)
        except (OSError, RuntimeError, sf.LibsndfileError):
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            return np.zeros(0, dtype=np.int16), 22050
        time.sleep(0.01)


def _espeak_program(text: str, rate: int, wav: Path, timeout_s: float) -> None:
    """The phrase again, from the espeak-ng program the driver wraps. Saying it again through the driver was not
    enough: in one test process its engine, once it wrote an empty file, wrote empty files for the retry too (2
    runs in 5 of tests/test_tts_voices.py). Same voice, same rate (words a minute), same 22050 Hz file."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        return  # the read finds no file and says so
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run([exe, "-s", str(rate), "-w", str(wav), "--stdin"], input=text.encode(), capture_output=True,
                       timeout=timeout_s, check=False)


@dataclass(frozen=True)
class _Job:
    text: str
    rate: int
    sample_rate: int
    folder: Path
    fut: concurrent.futures.Future[np.ndarray]


class _EngineThread:
    """The one thread that touches the engine, for every voice in the process: `pyttsx3.init("espeak")` hands
    each caller the same cached engine, so two voices with a thread each ran it from two threads (in one test
    process: the second voice's phrase was never written, twice)."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: _Job) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="pyttsx3-engine", daemon=True)
                self._thread.start()
        self._jobs.put(job)

    def _work(self) -> None:
        engine: Any = None
        n = 0
        while True:
            job = self._jobs.get()
            if not job.fut.set_running_or_notify_cancel():
                continue  # the caller gave up (timeout, barge-in) before we started
            try:
                if engine is None:
                    import pyttsx3
                    import pyttsx3.drivers.espeak as espeak_driver

                    # The driver prints "Audio saved to ..." on stdout, which the CLI uses: log it instead.
                    espeak_driver.print = lambda *a, **_k: log.debug(" ".join(map(str, a)))
                    engine = pyttsx3.init("espeak")
                engine.setProperty("rate", job.rate)
                for attempt, wait_s in enumerate(RETRY_WAITS_S):  # the driver now and then writes nothing
                    n += 1
                    job.folder.mkdir(parents=True, exist_ok=True)
                    wav = job.folder / f"phrase-{n}.wav"
                    if attempt == 0:
                        engine.save_to_file(job.text, str(wav))
                        engine.runAndWait()
                    else:
                        _espeak_program(job.text, job.rate, wav, wait_s)
                    audio, rate = _read_when_written(wav, wait_s)
                    with contextlib.suppress(OSError):
                        os.unlink(wav)
                    if len(audio):
                        break
                    log.warning("pyttsx3 wrote no audio for %r in %.0f s", job.text[:40], wait_s)
                job.fut.set_result(to_pcm16(audio, rate, job.sample_rate))
            except BaseException as exc:
                job.fut.set_exception(exc)


_ENGINE = _EngineThread()


class Pyttsx3TTS(Voice):
    name = "pyttsx3"
    failure_hint = "needs `apt-get install espeak-ng`"

    def __init__(self, *, rate: int = 175, sample_rate: int = 22050) -> None:
        super().__init__(sample_rate=sample_rate)
        self.rate = rate
        self._tmp = Path(tempfile.mkdtemp(prefix="pyttsx3-"))

    def _submit(self, text: str) -> concurrent.futures.Future[np.ndarray]:
        """Queue a phrase for the engine thread; usable from any thread, with or without an event loop."""
        fut: concurrent.futures.Future[np.ndarray] = concurrent.futures.Future()
        _ENGINE.submit(_Job(text, self.rate, self.sample_rate, self._tmp, fut))
        return fut

    def synthesize_blocking(self, text: str, timeout: float | None = None) -> np.ndarray:
        """For plain threads (no event loop): the same single engine thread does the work."""
        return self._submit(text).result(timeout)

    async def _synthesize_impl(self, text: str) -> np.ndarray:
        return await asyncio.wrap_future(self._submit(text))

    async def probe(self) -> ComponentStatus:
        try:
            import pyttsx3  # noqa: F401
        except ImportError as exc:
            return ComponentStatus(self.name, False, f"not installed: {exc}", "pip install pyttsx3")
        import ctypes.util

        if not (ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak")
                or shutil.which("espeak-ng")):
            return ComponentStatus(self.name, False, "espeak-ng library not found", "apt-get install espeak-ng")
        return ComponentStatus(self.name, True, "espeak-ng via pyttsx3", "")

    async def aclose(self) -> None:
        """The engine thread is the process's and stays; this voice's folder goes."""
        shutil.rmtree(self._tmp, ignore_errors=True)
