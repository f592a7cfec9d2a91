"""The voices, and `build_tts`: the fallback chain named by `tts.chain` in the config."""

from __future__ import annotations

from base.status import ComponentStatus
from core.config import TtsConfig
from realtime.tts.base import Speech, TextToSpeech, TtsError, Voice
from realtime.tts.fallback import FallbackTTS

__all__ = ["ComponentStatus", "FallbackTTS", "Speech", "TextToSpeech", "TtsError", "build_tts", "build_voice"]


def build_voice(name: str, cfg: TtsConfig) -> TextToSpeech:
    """One voice by its config name, with the configured pause between phrases."""
    voice = _make_voice(name, cfg)
    voice.gap_ms = cfg.phrase_gap_ms
    return voice


def _make_voice(name: str, cfg: TtsConfig) -> Voice:
    """Heavy libraries are imported only when that voice is used."""
    rate = cfg.sample_rate
    if name == "edge":
        from realtime.tts.edge_voice import EdgeTTS

        return EdgeTTS(cfg.edge_voice, sample_rate=rate)
    if name == "coqui":
        from realtime.tts.coqui_voice import CoquiTTS

        return CoquiTTS(cfg.coqui_model, sample_rate=rate)
    if name == "hibari":
        from realtime.tts.hibari_voice import HibariTTS

        return HibariTTS(cfg.hibari_voice, sample_rate=rate)
    if name == "piper":
        from realtime.tts.piper_voice import PiperTTS

        return PiperTTS(cfg.piper_model, sample_rate=rate)
    if name == "pyttsx3":
        from realtime.tts.pyttsx3_voice import Pyttsx3TTS

        return Pyttsx3TTS(rate=cfg.pyttsx3_rate, sample_rate=rate)
    raise ValueError(f"unknown voice {name!r} in tts.chain: allowed are edge, coqui, hibari, piper, pyttsx3")


def build_tts(cfg: TtsConfig) -> FallbackTTS:
    """The chain from cfg.chain, in order (duplicates dropped)."""
    names = list(dict.fromkeys(cfg.chain))
    return FallbackTTS([build_voice(n, cfg) for n in names], timeout_s=cfg.timeout_s,
                       cooldown_s=cfg.cooldown_s, sample_rate=cfg.sample_rate)
