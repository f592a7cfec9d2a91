"""The fallback chain, with small scripted voices: what the user hears when a voice breaks or hangs."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from base.status import ComponentStatus
from core.config import TtsConfig
from realtime.tts import build_tts, coqui_voice
from realtime.tts.base import Speech, TtsError
from realtime.tts.coqui_voice import CoquiTTS
from realtime.tts.fallback import FallbackTTS

RATE = 22050


class FakeVoice:
    """A voice that works, raises, or hangs, as the test says, and counts its calls."""

    def __init__(self, name: str, mode: str = "ok", *, probe_ok: bool = True) -> None:
        self.name = name
        self.mode = mode
        self.probe_ok = probe_ok
        self.calls: list[str] = []
        self.probes = 0
        self.closed = False

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Speech:
        self.calls.append(text)
        if self.mode == "raise":
            raise TtsError(f"{self.name} is broken")
        if self.mode == "bug":
            raise ValueError("oops")
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if self.mode == "empty":
            return Speech(np.zeros(0, dtype=np.int16), RATE, self.name)
        return Speech(np.full(100, 1000, dtype=np.int16), RATE, self.name)

    async def probe(self) -> ComponentStatus:
        self.probes += 1
        return ComponentStatus(self.name, self.probe_ok, "fine" if self.probe_ok else "unreachable", "do X")

    async def aclose(self) -> None:
        self.closed = True


def chain(*voices: FakeVoice, timeout_s: float = 5.0, cooldown_s: float = 60.0) -> FallbackTTS:
    return FallbackTTS(list(voices), timeout_s=timeout_s, cooldown_s=cooldown_s, sample_rate=RATE)


async def test_first_working_voice_speaks() -> None:
    a, b = FakeVoice("a"), FakeVoice("b")
    speech = await chain(a, b).synthesize("Hello.")
    assert speech.provider == "a" and speech.failures == () and len(speech.audio) == 100
    assert b.calls == []


@pytest.mark.parametrize("mode", ["raise", "bug", "empty"])
async def test_a_failing_voice_falls_through_to_the_next(mode: str) -> None:
    a, b = FakeVoice("a", mode), FakeVoice("b")
    speech = await chain(a, b).synthesize("Hello.")
    assert speech.provider == "b"
    assert [name for name, _ in speech.failures] == ["a"]
    assert b.calls == ["Hello."]


async def test_a_hanging_voice_falls_through_after_the_timeout() -> None:
    a, b = FakeVoice("a", "hang"), FakeVoice("b")
    speech = await chain(a, b, timeout_s=0.2).synthesize("Hello.")
    assert speech.provider == "b"
    assert speech.failures == (("a", "timed out after 0.2 s"),)


async def test_a_failed_voice_is_skipped_during_its_cool_down() -> None:
    a, b = FakeVoice("a", "raise"), FakeVoice("b")
    tts = chain(a, b, cooldown_s=60)
    first = await tts.synthesize("One.")
    rest = [await tts.synthesize(t) for t in ("Two.", "Three.", "Four.")]
    assert len(a.calls) == 1, "a broken voice must not be retried on every phrase"
    assert first.failures and all(s.provider == "b" and s.failures == () for s in rest)
    st = {s.name: s for s in tts.statuses()}
    assert not st["a"].ok and "broken" in st["a"].detail and st["b"].ok
    await tts.aclose()


async def test_a_voice_comes_back_after_the_cool_down() -> None:
    a, b = FakeVoice("a", "raise"), FakeVoice("b")
    tts = chain(a, b, cooldown_s=0.1)
    await tts.synthesize("One.")
    a.mode = "ok"
    await asyncio.sleep(0.3)  # the background re-probe after the cool-down finds it healthy again
    assert a.probes >= 1
    assert (await tts.synthesize("Two.")).provider == "a"
    await tts.aclose()


async def test_voice_is_sticky_within_a_reply() -> None:
    a, b = FakeVoice("a", "raise"), FakeVoice("b")
    tts = chain(a, b, cooldown_s=0.05)
    assert (await tts.synthesize("One.", reply_id="r1")).provider == "b"
    a.mode = "ok"
    await asyncio.sleep(0.2)  # a has recovered...
    assert tts.available("a")
    assert (await tts.synthesize("Two.", reply_id="r1")).provider == "b"  # ...but r1 keeps b's voice
    assert (await tts.synthesize("Hi.", reply_id="r2")).provider == "a"  # a new reply takes the best voice
    await tts.aclose()


async def test_sticky_voice_is_left_when_it_fails() -> None:
    a, b, c = FakeVoice("a"), FakeVoice("b"), FakeVoice("c")
    tts = chain(a, b, c)
    assert (await tts.synthesize("One.", reply_id="r1")).provider == "a"
    a.mode = "raise"
    speech = await tts.synthesize("Two.", reply_id="r1")
    assert speech.provider == "b" and speech.failures[0][0] == "a"
    assert (await tts.synthesize("Three.", reply_id="r1")).provider == "b"
    await tts.aclose()


async def test_all_voices_failing_names_each_reason() -> None:
    a, b = FakeVoice("a", "raise"), FakeVoice("b", "hang")
    tts = chain(a, b, timeout_s=0.1)
    with pytest.raises(TtsError) as err:
        await tts.synthesize("Hello.")
    assert "a: a is broken" in str(err.value) and "b: timed out" in str(err.value)
    with pytest.raises(TtsError) as err:  # both cooling down now: still a clear error, and no waiting
        await tts.synthesize("Again.")
    assert "a: skipped" in str(err.value) and "b: skipped" in str(err.value)
    assert len(a.calls) == 1 and len(b.calls) == 1
    await tts.aclose()


async def test_start_probes_in_the_background_and_skips_unreachable_voices() -> None:
    a, b = FakeVoice("a", probe_ok=False), FakeVoice("b")
    tts = chain(a, b)
    await tts.start()
    statuses = await tts.wait_probed(2)
    assert [(s.name, s.ok) for s in statuses] == [("a", False), ("b", True)]
    assert (await tts.synthesize("Hello.")).provider == "b"
    assert a.calls == [], "a voice whose probe failed is not tried on a user's phrase"
    await tts.aclose()
    assert a.closed and b.closed


async def test_cancelling_a_phrase_propagates() -> None:
    """Barge-in cancels synthesis: that must stop the chain, not count as a voice failure."""
    a, b = FakeVoice("a", "hang"), FakeVoice("b")
    tts = chain(a, b)
    task = asyncio.ensure_future(tts.synthesize("Hello."))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert b.calls == [] and tts.available("a")


async def test_coqui_absent_is_reported_cleanly_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coqui_voice, "coqui_installed", lambda: False)
    st = await CoquiTTS().probe()
    assert not st.ok
    assert "not installed" in st.detail and "pip install '.[coqui]'" in st.fix
    with pytest.raises(TtsError, match="coqui"):
        await CoquiTTS().synthesize("Hello.")


def test_build_tts_follows_the_configured_chain() -> None:
    tts = build_tts(TtsConfig(chain=["piper", "pyttsx3"], timeout_s=3, cooldown_s=9))
    assert [p.name for p in tts.providers] == ["piper", "pyttsx3"]
    assert (tts.timeout_s, tts.cooldown_s, tts.sample_rate) == (3, 9, 22050)
    assert [p.name for p in build_tts(TtsConfig()).providers] == ["edge", "coqui", "hibari", "piper", "pyttsx3"]


class SlowLoadingVoice(FakeVoice):
    """Like Piper: a model load that takes longer than one phrase may, done once."""

    def __init__(self, name: str, load_s: float) -> None:
        super().__init__(name)
        self.load_s = load_s
        self.loads = 0

    async def preload(self) -> None:
        if not self.loads:
            self.loads += 1
            await asyncio.sleep(self.load_s)


async def test_model_load_does_not_count_against_the_phrase_timeout() -> None:
    slow, b = SlowLoadingVoice("slow", load_s=0.3), FakeVoice("b")
    tts = chain(slow, b, timeout_s=0.1)
    speech = await tts.synthesize("Hello.")
    assert speech.provider == "slow" and speech.failures == () and slow.loads == 1
    await tts.aclose()
