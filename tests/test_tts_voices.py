"""The real voices here: Piper speaks, pyttsx3 survives concurrency, an offline Edge costs one try."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from core.config import TtsConfig
from realtime.speech_text import to_spoken
from realtime.tts import build_tts
from realtime.tts.base import LEAD_MS, Speech, sound_span
from realtime.tts.edge_voice import EdgeTTS
from realtime.tts.fallback import FallbackTTS
from realtime.tts.hibari_voice import HibariTTS
from realtime.tts.piper_voice import PiperTTS
from realtime.tts.pyttsx3_voice import Pyttsx3TTS

pytestmark = pytest.mark.slow

RATE = 22050
LONG = "This is a much longer sentence, so its audio must last far longer than the short one."


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))


class CountingEdge(EdgeTTS):
    def __init__(self, proxy: str) -> None:
        super().__init__(sample_rate=RATE, proxy=proxy, connect_timeout_s=30)
        self.attempts = 0

    async def synthesize(self, text: str, *, reply_id: str | None = None) -> Speech:
        self.attempts += 1
        return await super().synthesize(text, reply_id=reply_id)


@contextlib.contextmanager
def dead_port() -> Iterator[str]:
    """A proxy address where nothing listens: connection refused at once, like a cut network."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
    """A proxy that accepts connections and never answers: Edge hangs, as behind a broken network."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(srv.accept()[0])

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        srv.close()


async def test_piper_speaks_non_silent_audio_at_22050() -> None:
    piper = PiperTTS(sample_rate=RATE)
    speech = await piper.synthesize("Hello, I am your local voice assistant.")
    assert speech.provider == "piper" and speech.sample_rate == RATE and speech.audio.dtype == np.int16
    assert 1.0 < speech.duration_s < 6.0
    assert rms(speech.audio) > 500
    assert (await piper.probe()).ok
    await piper.aclose()


async def test_pyttsx3_from_many_tasks_and_threads_loses_nothing() -> None:
    voice = Pyttsx3TTS(sample_rate=RATE)
    texts = [("Hi.", LONG)[i % 2] for i in range(12)]
    thread_results: dict[int, np.ndarray] = {}

    def in_thread(i: int) -> None:
        if i % 2:  # a thread with its own event loop
            thread_results[i] = asyncio.run(voice.synthesize(texts[i])).audio
        else:  # a plain thread, no event loop at all
            thread_results[i] = voice.synthesize_blocking(texts[i], timeout=60)

    threads = [threading.Thread(target=in_thread, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    task_results = await asyncio.wait_for(
        asyncio.gather(*(voice.synthesize(texts[i]) for i in range(6, 12))), 60)
    for t in threads:
        await asyncio.to_thread(t.join, 60)
        assert not t.is_alive(), "a pyttsx3 caller deadlocked"
    audio = [thread_results[i] for i in range(6)] + [s.audio for s in task_results]
    assert all(len(a) and rms(a) > 300 for a in audio), "a phrase came back empty or silent"
    short = [len(a) for a, t in zip(audio, texts, strict=True) if t == "Hi."]
    long = [len(a) for a, t in zip(audio, texts, strict=True) if t == LONG]
    assert max(short) * 3 < min(long), "phrases were mixed up between callers"
    await voice.aclose()


@pytest.mark.parametrize("network", ["refused", "hangs"])
async def test_offline_edge_fails_once_then_piper_speaks_every_phrase(network: str) -> None:
    cut = dead_port() if network == "refused" else black_hole()
    with cut as proxy:
        edge = CountingEdge(proxy)
        tts = FallbackTTS([edge, PiperTTS(sample_rate=RATE)], timeout_s=2.0, cooldown_s=60, sample_rate=RATE)
        phrases = ["Hello there.", "The weather is fine today.", "Goodbye."]
        results = [await tts.synthesize(p, reply_id="r1") for p in phrases]
        await tts.aclose()
    assert edge.attempts == 1, "an offline Edge must not be retried on every phrase"
    assert all(r.provider == "piper" and rms(r.audio) > 500 for r in results)
    assert [n for n, _ in results[0].failures] == ["edge"]
    if network == "hangs":
        assert "timed out" in results[0].failures[0][1]
    assert results[1].failures == () and results[2].failures == (), "later phrases paid for Edge again"


async def test_default_chain_starts_and_speaks_offline() -> None:
    tts = build_tts(TtsConfig())
    await tts.start()
    statuses = {s.name: s for s in await tts.wait_probed(10)}
    assert list(statuses) == ["edge", "coqui", "hibari", "piper", "pyttsx3"]
    assert statuses["hibari"].ok and statuses["piper"].ok and statuses["pyttsx3"].ok
    assert statuses["coqui"].ok or statuses["coqui"].fix
    for text in ("One.", "Two.", "Three."):
        speech = await tts.synthesize(text, reply_id="r")
        assert speech.provider in ("edge", "hibari") and len(speech.audio)
    await tts.aclose()


def silences_ms(audio: np.ndarray) -> tuple[float, float]:
    span = sound_span(audio, RATE)
    assert span is not None
    return span[0] * 1000 / RATE, (len(audio) - span[1]) * 1000 / RATE


async def test_hibari_speaks_offline_fast_and_trimmed() -> None:
    voice = HibariTTS(sample_rate=RATE)
    assert (await voice.probe()).ok
    await voice.preload()
    speech = await voice.synthesize("Hello, I am your local voice assistant.")
    assert speech.provider == "hibari" and speech.sample_rate == RATE and speech.audio.dtype == np.int16
    assert 1.0 < speech.duration_s < 6.0 and rms(speech.audio) > 300
    lead, trail = silences_ms(speech.audio)
    assert lead <= LEAD_MS + 6 and trail <= 180, "hibari's 300-450 ms padding must be trimmed"
    await voice.aclose()


async def test_hibari_voice_that_would_need_a_download_is_refused_with_the_fix() -> None:
    status = await HibariTTS("emma", sample_rate=RATE).probe()
    assert not status.ok and "heart" in status.detail + status.fix
    status = await HibariTTS("nobody", sample_rate=RATE).probe()
    assert not status.ok and "unknown voice" in status.detail


async def test_piper_says_titles_as_one_utterance_once_normalized() -> None:
    """Piper takes each abbreviation period for a sentence end; the normalizer's words do not pause."""
    piper = PiperTTS(sample_rate=RATE)
    piper.gap_ms = None
    text = "Dr. Smith and Mr. Jones met Mrs. Brown."
    raw = await piper.synthesize(text)
    spoken = await piper.synthesize(to_spoken(text))
    assert spoken.duration_s < raw.duration_s * 0.9
    await piper.aclose()


@pytest.mark.parametrize("voice_cls", [PiperTTS, Pyttsx3TTS])
async def test_every_voice_leaves_the_configured_gap(voice_cls: type[PiperTTS] | type[Pyttsx3TTS]) -> None:
    voice = voice_cls(sample_rate=RATE)
    voice.gap_ms = 180
    first = (await voice.synthesize("The first sentence ends here.")).audio
    second = (await voice.synthesize("And the second one starts.")).audio
    assert silences_ms(first)[1] + silences_ms(second)[0] == pytest.approx(180, abs=12)
    await voice.aclose()


async def test_two_pyttsx3_voices_at_once_lose_nothing() -> None:
    """pyttsx3 caches one engine per driver for the whole process: two voices (the app's chain and a bench's, or
    two tests in one process) must not drive it from two threads."""
    first, second = Pyttsx3TTS(sample_rate=RATE), Pyttsx3TTS(sample_rate=RATE, rate=220)
    texts = [(v, f"Phrase {i} of voice {n}.") for i in range(4) for n, v in enumerate((first, second))]
    said = await asyncio.wait_for(asyncio.gather(*(v.synthesize(t) for v, t in texts)), 60)
    assert all(len(s.audio) and rms(s.audio) > 300 for s in said), "a phrase came back empty or silent"
    await first.aclose()  # the other voice still speaks
    assert rms((await asyncio.wait_for(second.synthesize("Still here."), 30)).audio) > 300
    await second.aclose()


async def test_pyttsx3_says_a_phrase_again_when_its_driver_wrote_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The espeak driver now and then never writes a phrase's file, or writes it empty (CI: "pyttsx3 produced no
    audio"): the engine thread synthesizes it once more, with the espeak-ng program, instead of failing the phrase.
    Once more through the driver failed too in 2 of 5 runs of this file."""
    from realtime.tts import pyttsx3_voice

    real = pyttsx3_voice._read_when_written
    waits: list[float] = []

    def first_one_lost(wav: object, timeout_s: float = 5.0) -> tuple[np.ndarray, int]:
        waits.append(timeout_s)
        audio, rate = real(wav, timeout_s)  # type: ignore[arg-type]
        return (np.zeros(0, dtype=np.int16), rate) if len(waits) == 1 else (audio, rate)

    monkeypatch.setattr(pyttsx3_voice, "_read_when_written", first_one_lost)
    voice = Pyttsx3TTS(sample_rate=RATE)
    speech = await voice.synthesize("The second try is heard.")
    assert sound_span(speech.audio, RATE) and waits == list(pyttsx3_voice.RETRY_WAITS_S)
    await voice.aclose()
