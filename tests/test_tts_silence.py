"""Every voice's phrases are trimmed to one natural pause, so phrases join like one utterance."""

from __future__ import annotations

import numpy as np
import pytest

from base.status import ComponentStatus
from core.config import ConfigError, TtsConfig, load_settings
from realtime.tts import build_voice
from realtime.tts.base import LEAD_MS, Voice, fit_silence, pause_after_ms, sound_span

RATE = 22050


def tone(seconds: float, amp: float = 8000.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amp * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def padded(lead_s: float, sound_s: float, trail_s: float, noise: float = 3.0) -> np.ndarray:
    """Sound with a voice's own padding around it; the padding hisses a little, as a neural voice's does."""
    rng = np.random.default_rng(0)
    parts = [rng.normal(0, noise, int(RATE * lead_s)), tone(sound_s).astype(float),
             rng.normal(0, noise, int(RATE * trail_s))]
    return np.concatenate(parts).astype(np.int16)


class PaddingVoice(Voice):
    """Pads 400 ms of near-silence around each phrase, like hibari."""

    name = "padding"

    async def _synthesize_impl(self, text: str) -> np.ndarray:
        return padded(0.4, 0.5, 0.4)

    async def probe(self) -> ComponentStatus:
        return ComponentStatus(self.name, True, "", "")


def silence_ms(audio: np.ndarray) -> tuple[float, float]:
    span = sound_span(audio, RATE)
    assert span is not None
    return span[0] * 1000 / RATE, (len(audio) - span[1]) * 1000 / RATE


def test_sound_span_finds_the_tone_inside_quiet_padding() -> None:
    lead, trail = silence_ms(padded(0.3, 0.5, 0.2))
    assert 295 <= lead <= 305 and 195 <= trail <= 205


def test_fit_silence_trims_long_padding_and_pads_short() -> None:
    lead, trail = silence_ms(fit_silence(padded(0.4, 0.5, 0.4), RATE, lead_ms=15, trail_ms=165))
    assert lead == pytest.approx(15, abs=5) and trail == pytest.approx(165, abs=5)
    lead, trail = silence_ms(fit_silence(tone(0.5), RATE, lead_ms=15, trail_ms=165))
    assert lead == pytest.approx(15, abs=5) and trail == pytest.approx(165, abs=5)


def test_all_silence_is_left_alone() -> None:
    quiet = np.zeros(1000, dtype=np.int16)
    assert sound_span(quiet, RATE) is None
    assert len(fit_silence(quiet, RATE, lead_ms=15, trail_ms=100)) == 1000


@pytest.mark.parametrize(("text", "pause"), [
    ("Hello there.", 180), ("Really?!", 180), ("He said \"stop.\"", 180), ("你好。", 180),
    ("Well, to be honest,", 90), ("The weather today is", 90)])
def test_a_sentence_gets_the_full_pause_a_clause_half(text: str, pause: float) -> None:
    assert pause_after_ms(text, 180) == pause


async def test_the_base_class_trims_every_voice_to_the_configured_gap() -> None:
    voice = PaddingVoice(sample_rate=RATE, gap_ms=200)
    first = (await voice.synthesize("One sentence.")).audio
    second = (await voice.synthesize("Then a clause,")).audio
    lead1, trail1 = silence_ms(first)
    lead2, trail2 = silence_ms(second)
    assert lead1 == pytest.approx(LEAD_MS, abs=5)
    assert trail1 + lead2 == pytest.approx(200, abs=10), "the join after a sentence is the configured gap"
    assert trail2 + LEAD_MS == pytest.approx(100, abs=10), "after a clause, half of it"
    voice.gap_ms = None
    lead, trail = silence_ms((await voice.synthesize("Untouched.")).audio)
    assert lead == pytest.approx(400, abs=5) and trail == pytest.approx(400, abs=5)


def test_build_voice_passes_the_configured_gap() -> None:
    voice = build_voice("pyttsx3", TtsConfig(phrase_gap_ms=250))
    assert isinstance(voice, Voice) and voice.gap_ms == 250


@pytest.mark.parametrize("bad", [-1, 1001])
def test_phrase_gap_is_bounded_with_a_clear_error(bad: int) -> None:
    with pytest.raises(ConfigError, match=r"tts\.phrase_gap_ms.*ASSISTANT_TTS__PHRASE_GAP_MS"):
        load_settings(tts={"phrase_gap_ms": bad})


def test_hibari_is_an_allowed_voice_and_a_typo_is_named() -> None:
    assert load_settings(tts={"chain": ["hibari", "piper"]}).tts.chain == ["hibari", "piper"]
    with pytest.raises(ConfigError, match="hibari"):
        load_settings(tts={"chain": ["hibary"]})
