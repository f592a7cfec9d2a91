"""A chain of voices that is itself a voice: the agent asks for speech and gets some if any voice works.

Rules, each there because a user would hear the difference:
- a failed voice is skipped for `cooldown_s` (and re-probed in the background), so an offline Edge costs
  one failure, not one per phrase;
- a phrase that takes longer than `timeout_s` moves on to the next voice (a hung service never
  freezes a reply);
- within one reply (same `reply_id`) the voice stays the same unless it fails: no voice change mid-answer;
- if every voice fails, the TtsError names each voice's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

from base.status import ComponentStatus
from realtime.tts.base import Preloadable, Speech, TextToSpeech, TtsError

log = logging.getLogger(__name__)


class FallbackTTS:
    name = "fallback"

    def __init__(self, providers: Sequence[TextToSpeech], *, timeout_s: float = 8.0, cooldown_s: float = 60.0,
                 sample_rate: int = 22050, probe_timeout_s: float = 5.0,
                 load_timeout_s: float = 60.0) -> None:
        if not providers:
            raise ValueError("FallbackTTS needs at least one voice (tts.chain is empty)")
        self.providers = list(providers)
        self.timeout_s = timeout_s
        self.cooldown_s = cooldown_s
        self.sample_rate = sample_rate
        self.probe_timeout_s = probe_timeout_s
        self.load_timeout_s = load_timeout_s
        self._down_until: dict[str, float] = {}
        self._reason: dict[str, str] = {}
        self._status: dict[str, ComponentStatus] = {
            p.name: ComponentStatus(p.name, True, "probing", "") for p in self.providers}
        self._sticky: tuple[str, str] | None = None  # (reply_id, provider name)
        self._tasks: set[asyncio.Task[None]] = set()
        self._rechecks: dict[str, asyncio.Task[None]] = {}
        self._probed = asyncio.Event()
        self._owns_voices = True

    # -- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Probe every voice and preload the local ones, in the background: start-up does not wait."""
        self._spawn(self._probe_all())

    async def wait_probed(self, timeout: float | None = None) -> list[ComponentStatus]:
        """For `launch.py check` and tests: wait until the start-up probes are in, then report."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._probed.wait()
        return self.statuses()

    async def _probe_all(self) -> None:
        try:
            results = await asyncio.gather(*(self._probe_one(p) for p in self.providers))
            for p, st in zip(self.providers, results, strict=True):
                if st.ok and isinstance(p, Preloadable):
                    self._spawn(self._preload(p))
        finally:
            self._probed.set()

    async def _probe_one(self, p: TextToSpeech) -> ComponentStatus:
        try:
            async with asyncio.timeout(self.probe_timeout_s):
                st = await p.probe()
        except TimeoutError:
            st = ComponentStatus(p.name, False, f"probe timed out after {self.probe_timeout_s:g} s", "")
        except Exception as exc:
            st = ComponentStatus(p.name, False, f"probe failed: {type(exc).__name__}: {exc}", "")
        self._status[p.name] = st
        if st.ok:
            self._down_until.pop(p.name, None)
        else:
            self._mark_failed(p, st.detail, recheck=True)
        return st

    async def _preload(self, p: Preloadable) -> None:
        try:
            await p.preload()
        except Exception as exc:
            name = getattr(p, "name", "?")
            log.warning("voice %s failed to load: %s", name, exc)
            for prov in self.providers:
                if prov is p:
                    self._mark_failed(prov, f"load failed: {exc}", recheck=True)

    async def _recheck(self, p: TextToSpeech) -> None:
        """After the cool-down, probe the voice again rather than spend a user's phrase finding out."""
        while (left := self._down_until.get(p.name, 0.0) - time.monotonic()) > 0:
            await asyncio.sleep(left)
        self._rechecks.pop(p.name, None)
        await self._probe_one(p)

    def _mark_failed(self, p: TextToSpeech, reason: str, *, recheck: bool) -> None:
        self._down_until[p.name] = time.monotonic() + self.cooldown_s
        self._reason[p.name] = reason
        pending = self._rechecks.get(p.name)
        if recheck and self.cooldown_s > 0 and (pending is None or pending.done()):
            self._rechecks[p.name] = self._spawn(self._recheck(p))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def available(self, name: str) -> bool:
        return self._down_until.get(name, 0.0) <= time.monotonic()

    def statuses(self) -> list[ComponentStatus]:
        out = []
        for p in self.providers:
            st = self._status[p.name]
            if not self.available(p.name) and st.ok:
                left = self._down_until[p.name] - time.monotonic()
                st = ComponentStatus(p.name, False, f"failed: {self._reason.get(p.name, '?')} "
                                 f"(skipped for {left:.0f} s more)", st.fix)
            out.append(st)
        return out

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.providers]

    def subset(self, names: Sequence[str]) -> FallbackTTS:
        """A chain of some of these voices, in the order given, sharing the loaded models (none loads twice).

        Raises ValueError naming the unknown voices and the ones there are.
        """
        by_name = {p.name: p for p in self.providers}
        unknown = [n for n in names if n not in by_name]
        if not names or unknown:
            raise ValueError(f"tts_chain {list(names)!r} is not a non-empty list of this server's voices; "
                             f"choose from {self.names}")
        chain = FallbackTTS([by_name[n] for n in dict.fromkeys(names)], timeout_s=self.timeout_s,
                            cooldown_s=self.cooldown_s, sample_rate=self.sample_rate,
                            probe_timeout_s=self.probe_timeout_s, load_timeout_s=self.load_timeout_s)
        chain._status = {n: st for n, st in self._status.items() if n in names}
        chain._owns_voices = False  # the voices stay this chain's: closing the subset leaves them loaded
        chain._probed.set()
        return chain

    def status(self) -> ComponentStatus:
        """The chain as one component, its voices as parts: ok while any voice works."""
        parts = tuple(self.statuses())
        working = [s.name for s in parts if s.ok]
        detail = f"speaking with {working[0]}" if working else "no voice works"
        fix = "" if working else "; ".join(f"{s.name}: {s.fix}" for s in parts if s.fix)
        return ComponentStatus("tts", bool(working), detail, fix, required=True, parts=parts)

    # -- the voice ----------------------------------------------------------------------------------
    def _order(self, reply_id: str | None) -> list[TextToSpeech]:
        if reply_id is not None and self._sticky and self._sticky[0] == reply_id:
            first = [p for p in self.providers if p.name == self._sticky[1]]
            return first + [p for p in self.providers if p.name != self._sticky[1]]
        return list(self.providers)

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Speech:
        failures: list[tuple[str, str]] = []
        skipped: list[str] = []
        for p in self._order(reply_id):
            if not self.available(p.name):
                skipped.append(f"{p.name}: skipped, {self._reason.get(p.name, 'failed recently')}")
                continue
            try:
                speech = await self._attempt(p, text, reply_id)
            except Exception as exc:  # a voice's bug must not silence the assistant
                reason = str(exc) if isinstance(exc, TtsError) else f"{type(exc).__name__}: {exc}"
            else:
                if reply_id is not None:
                    self._sticky = (reply_id, p.name)
                return Speech(speech.audio, speech.sample_rate, p.name, tuple(failures))
            log.warning("voice %s failed for %r: %s", p.name, text[:40], reason)
            failures.append((p.name, reason))
            self._mark_failed(p, reason, recheck=True)
        lines = [f"{n}: {r}" for n, r in failures] + skipped
        raise TtsError("every voice failed: " + "; ".join(lines))

    async def _attempt(self, p: TextToSpeech, text: str, reply_id: str | None) -> Speech:
        """One voice, one phrase, bounded in time; any way of not producing audio is a TtsError."""
        if isinstance(p, Preloadable):  # a model load (Piper: 2-4 s, once) is not a slow phrase
            try:
                async with asyncio.timeout(self.load_timeout_s):
                    await p.preload()
            except TimeoutError:
                raise TtsError(f"model load timed out after {self.load_timeout_s:g} s") from None
        try:  # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that comes as the phrase
            # ends, and the reply's task that was being stopped then went on waiting for its next phrase forever
            async with asyncio.timeout(self.timeout_s):
                speech = await p.synthesize(text, reply_id=reply_id)
        except TimeoutError:
            raise TtsError(f"timed out after {self.timeout_s:g} s") from None
        if not len(speech.audio):
            raise TtsError("produced no audio")
        if speech.sample_rate != self.sample_rate:
            raise TtsError(f"returned {speech.sample_rate} Hz instead of {self.sample_rate} Hz")
        return speech

    async def probe(self) -> ComponentStatus:
        results = await asyncio.gather(*(self._probe_one(p) for p in self.providers))
        working = [s.name for s in results if s.ok]
        detail = "; ".join(f"{s.name}: {'ok' if s.ok else s.detail}" for s in results)
        fix = "" if working else "; ".join(f"{s.name}: {s.fix}" for s in results if s.fix)
        return ComponentStatus(self.name, bool(working), detail, fix)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if not self._owns_voices:
            return
        for p in self.providers:
            with contextlib.suppress(Exception):
                await p.aclose()
