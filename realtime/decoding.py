"""Whisper decodes for every session of the process: one at a time, finals before partials.

Whisper already uses every core for one decode, so two at once only make both slower. With several sessions
(browser tabs, `/ws` clients) each listener asking for partials whenever its own last decode was done, the
decoder was never idle and a finished question waited behind other people's partials: 8 sessions measured a
voice-to-voice p50 of 55 s. Here one worker thread takes the most urgent job first (finals, then partials,
each in order of arrival), and listeners skip a partial while anyone's decode is waiting, so partials use
only the time that is left over. A partial already running when a final arrives is given up at the
recognizer's checkpoints around Whisper's encoder; one already in the decoder (which cannot be stopped) finishes.
A decode that is abandoned (a pause decode gone stale: the speaker went on) is given up at the same
checkpoints, so a word gap's decode does not hold up the real pause behind it; one already in the decoder
still delivers its words, which the listener keeps (see `realtime.pauses`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import itertools
import queue
import threading
import time
import weakref

import numpy as np

from base.audio import LISTEN_RATE
from realtime.stt import DecodeAborted, SpeechToText

FINAL, PARTIAL = 0, 1
_Job = tuple[int, int, np.ndarray | None, bool, "concurrent.futures.Future[str] | None", str | None,
             threading.Event | None]


class DecodeScheduler:
    """The process's one decode queue; `submit` from the event loop, results as asyncio futures."""

    def __init__(self, stt: SpeechToText) -> None:
        self.stt = stt
        # a prompt (the pause decode's, see realtime.stt.PAUSE_PROMPT) goes only to a recognizer that takes one
        params = inspect.signature(stt.transcribe).parameters
        self._takes_prompt = "prompt" in params
        self._takes_give_up = "give_up" in params  # a partial can be abandoned at a checkpoint
        self._finals_queued = 0  # finals submitted and not yet started: running partials give up for them
        self.last_final_rtf: float | None = None  # the latest final decode's time / audio length, for the logs
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._waiting = 0  # submitted and not finished, over every session
        self._flags: weakref.WeakKeyDictionary[asyncio.Future[str], threading.Event] = weakref.WeakKeyDictionary()
        self._thread = threading.Thread(target=self._work, name="stt-decoder", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Decodes queued or running, for every session: a partial is skipped while this is not zero."""
        return self._waiting

    def submit(self, audio: np.ndarray, *, final: bool, prompt: str | None = None) -> asyncio.Future[str]:
        """Cancelling the returned future (or `abandon`) drops a queued decode and gives up a running one at a
        checkpoint."""
        cf: concurrent.futures.Future[str] = concurrent.futures.Future()
        abandoned = threading.Event()
        with self._lock:
            self._waiting += 1
            self._finals_queued += final
        self._jobs.put((FINAL if final else PARTIAL, next(self._order), audio, final, cf, prompt, abandoned))
        fut = asyncio.wrap_future(cf)
        fut.add_done_callback(lambda f: abandoned.set() if f.cancelled() else None)
        self._flags[fut] = abandoned
        return fut

    def abandon(self, fut: asyncio.Future[str]) -> None:
        """Its result is no longer needed, but is still taken if it comes: a queued decode is dropped and a
        running one given up at a checkpoint (both end in `DecodeAborted`); one in the decoder finishes."""
        flag = self._flags.get(fut)
        if flag is not None:
            flag.set()

    def _work(self) -> None:
        while True:
            _, _, audio, final, cf, prompt, abandoned = self._jobs.get()
            if cf is None or audio is None or abandoned is None:
                return
            with self._lock:
                self._finals_queued -= final
            text: str | None = None
            error: Exception | None = None
            running = False
            try:
                running = cf.set_running_or_notify_cancel()  # False: a session that closed gave up on it
                if running:
                    if abandoned.is_set():
                        raise DecodeAborted("abandoned before it started")
                    start = time.perf_counter()
                    text = self._transcribe(audio, final, prompt, abandoned)
                    if final and len(audio):
                        self.last_final_rtf = round((time.perf_counter() - start) * LISTEN_RATE / len(audio), 3)
            except Exception as exc:
                error = exc
            finally:  # counted down before the result goes out: whoever awaited it sees the queue without it
                with self._lock:
                    self._waiting -= 1
            if running:
                if error is not None:
                    cf.set_exception(error)
                else:
                    cf.set_result(text or "")

    def _transcribe(self, audio: np.ndarray, final: bool, prompt: str | None, abandoned: threading.Event) -> str:
        kwargs: dict[str, object] = {}
        if prompt is not None and self._takes_prompt:
            kwargs["prompt"] = prompt
        if self._takes_give_up:  # a partial also gives way to a queued final
            kwargs["give_up"] = abandoned.is_set if final else lambda: abandoned.is_set() or self._finals_queued > 0
        return self.stt.transcribe(audio, final=final, **kwargs)

    def close(self) -> None:
        """Stop the worker after the job it is on; queued jobs are dropped with it."""
        self._jobs.put((-1, -1, None, False, None, None, None))
