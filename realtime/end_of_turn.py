"""Is the speaker done? Judged at each pause from the audio (Smart Turn v3.2) and from the words so far.

A fixed silence cannot tell "And so my fellow Americans ... ask not" (a 1.2 s pause inside one thought) from
"What time is it?" (done, waiting for the answer). Smart Turn v3.2 (Daily, BSD-2, 8.7 MB ONNX, about 30 ms a
call on one core) hears the prosody: pitch, lengthening, a trailing "um". It misses grammar ("My favourite
films are," falls like an end), so the transcript has a veto (`realtime.turn_text`): the turn is finished only
if the audio says so *and* the words carry no cue of going on. Without the model file the words decide alone.
Where the audio holds a statement the words would end, a learned words' model (`realtime.text_turn`) may end
it after a longer silence when it is sure the words are a whole message.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from base.audio import LISTEN_RATE
from core.config import PROJECT_ROOT, TurnConfig
from realtime.text_turn import TextTurnModel
from realtime.turn_text import PUNCTUATION_ONLY, is_answer, is_question, unfinished_cue

log = logging.getLogger(__name__)

WINDOW_S = 8  # the model hears the last 8 s
FETCH_HINT = "make turn-model"
TEXT_HINT = "make text-turn-model"
# P(finished) at which the audio overrules Whisper's trailing ellipsis or comma (the weakest cues). 0.8, not 0.9: on
# five espeak-ng voices the judge was not tuned on, "Next song..." (P 0.83) and "How are you" written "How I do..."
# (0.87) waited the 1.8 s limit, and on 44 paused clips (four voices) no pause was held by punctuation alone.
SURE = 0.8
# The doubt (see `realtime.stt_doubt`) at which a finished ending waits `turn.doubt_silence_ms`. Made-up endings at
# pauses: Piper's "about this?" 0.05-0.45 (median 0.17, 16 syntheses), espeak-ng voices 0.10-0.23, "Set a timer for
# it." 0.20; finished questions at most 0.005 (Piper) and 0.05 (espeak-ng, but en-us+m3's "Can you tell me about
# that?" 0.107, which then waits), finished sentences with a cue before their last word at most 0.02.
DOUBT = 0.08


@dataclass(frozen=True)
class Verdict:
    finished: bool
    p_audio: float | None  # the audio model's P(finished); None without the model
    cue: str | None  # why the words look unfinished, or None
    text: str = ""
    p_text: float | None = None  # the words' model's P(complete), where it was asked
    endpoint_ms: int | None = None  # the silence that ends this turn, when not the finished/unfinished default
    doubt: float | None = None  # the ending's doubt (`realtime.stt_doubt`), where it was asked

    @property
    def held_longer(self) -> bool:
        """Finished on weaker evidence (the words' model against the audio, or a doubted ending): it ends after a
        longer silence, and is not a sentence the voice was heard to end."""
        return self.finished and self.endpoint_ms is not None


def doubted(verdict: Verdict, doubt: float, cfg: TurnConfig) -> Verdict:
    """A finished ending Whisper may have made up from a fragment ("about the" written "about that?", "Set a timer
    for" written "Set a timer for it.") ends the turn after `turn.doubt_silence_ms`, not the short silence."""
    if not verdict.finished or doubt < DOUBT:
        return replace(verdict, doubt=doubt)
    return replace(verdict, doubt=doubt, endpoint_ms=max(cfg.doubt_silence_ms, verdict.endpoint_ms or 0))


class TurnJudge(Protocol):
    """What the listener asks at a pause; tests script it."""

    def p_finished(self, audio: np.ndarray) -> float | None:
        """The audio's P(finished) for float32 16 kHz speech ending at the pause (blocking, off the loop)."""
        ...

    def needs_audio(self, text: str) -> bool:
        """Whether the audio model's P can change the verdict on these words (if not, it is not asked)."""
        ...

    def decide(self, p_audio: float | None, text: str) -> Verdict: ...


def audio_decides(text: str) -> bool:
    """False when the words settle the verdict alone: a word cue holds the turn whatever the audio says, and
    a question or a short whole answer with no cue ends it (see `EndOfTurn.decide`); a lone trailing ellipsis or
    comma, or a statement, needs the audio."""
    cue = unfinished_cue(text)
    if cue is not None:
        return cue in PUNCTUATION_ONLY
    return not _words_end_it(text)


def _words_end_it(text: str) -> bool:
    """A question, or a short whole answer ("Yes.", "No thanks."): the words alone end the turn."""
    return is_question(text) or is_answer(text)


def _in_project(name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def model_path(cfg: TurnConfig) -> Path:
    return _in_project(cfg.model_path)


def text_model_path(cfg: TurnConfig) -> Path:
    return _in_project(cfg.text_model_path)


class SmartTurn:
    """The Smart Turn v3.2 ONNX model: Whisper log-mel of the last 8 s in, P(turn complete) out."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort
        from faster_whisper.feature_extractor import FeatureExtractor

        opts = ort.SessionOptions()
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1  # 30-47 ms a call on these cores; two threads were slower
        self._session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        self._features = FeatureExtractor(feature_size=80, chunk_length=WINDOW_S)
        self._lock = threading.Lock()  # one session, called from worker threads of several listeners

    def __call__(self, audio: np.ndarray) -> float:
        n = WINDOW_S * LISTEN_RATE
        a = np.asarray(audio, dtype=np.float32).reshape(-1)[-n:]
        a = np.pad(a, (n - len(a), 0))
        x = (a - a.mean()) / np.sqrt(a.var() + 1e-7)  # what the model was trained on (do_normalize)
        feats = self._features(x, padding=0)[:, : WINDOW_S * 100].astype(np.float32)[None]
        with self._lock:
            out: Any = self._session.run(None, {"input_features": feats})
        return float(np.asarray(out[0]).reshape(-1)[0])


class EndOfTurn:
    """The audio model (when present) and the words together; see the module docstring."""

    def __init__(self, cfg: TurnConfig, model: SmartTurn | None = None,
                 text_model: TextTurnModel | None = None) -> None:
        self.cfg = cfg
        self.model = model
        self.text_model = text_model

    def p_finished(self, audio: np.ndarray) -> float | None:
        return self.model(audio) if self.model is not None else None

    def needs_audio(self, text: str) -> bool:
        return self.model is not None and audio_decides(text)

    def decide(self, p_audio: float | None, text: str) -> Verdict:
        """Finished: no cue of going on, and the audio agrees or the words end a question, or the words' model is
        sure they are a whole message (then after `turn.text_sure_silence_ms`).

        A trailing ellipsis or comma alone does not hold a turn the audio is sure is over: Whisper primed at a pause
        writes one after a short answer ("Yes...", P 0.98; "Yes,"), and the audio model is the better judge of
        trailing off.

        A question mark with no cue counts as finished whatever the audio says: Whisper writes it for a whole
        interrogative sentence, and Smart Turn, trained on human voices, gives flat synthetic prosody (espeak-ng)
        a P of 0.04-0.06 even on "What should I pack for the weather there?".
        """
        cue = unfinished_cue(text)
        if cue in PUNCTUATION_ONLY and p_audio is not None and p_audio >= SURE:
            cue = None  # the audio hears a falling end where Whisper guessed a trailing-off voice: "Yes..."
        words_end_it = _words_end_it(text)  # a question or a short whole answer ("Yes..." at P 0.11)
        finished = cue is None and (p_audio is None or p_audio >= self.cfg.threshold or words_end_it)
        if finished or cue is not None or self.text_model is None:
            return Verdict(finished, p_audio, cue, text)
        # Only the audio holds this statement. Smart Turn gives espeak-ng's finished statements P 0.01-0.2 at
        # every silence up to 1 s, and jfk.flac's "ask not" 0.01-0.07: the audio cannot tell them apart here,
        # the words can (P(complete) 0.87-0.91 and 0.27).
        p_text = self.text_model.p_complete(text)
        if p_text >= self.cfg.text_sure:
            return Verdict(True, p_audio, None, text, p_text, self.cfg.text_sure_silence_ms)
        return Verdict(False, p_audio, None, text, p_text)


def build_end_of_turn(cfg: TurnConfig) -> EndOfTurn | None:
    """The configured judge: None when off; words only (one log line saying why) without the model file."""
    if cfg.detector == "off":
        return None
    if cfg.detector == "words":
        return EndOfTurn(cfg)
    path = model_path(cfg)
    if not path.exists():
        log.warning("end of turn: no Smart Turn model at %s (run `%s`): judging from the words alone",
                    path, FETCH_HINT)
        return EndOfTurn(cfg)
    try:
        model = SmartTurn(path)
    except Exception as exc:
        log.warning("end of turn: Smart Turn model at %s failed to load (%s): judging from the words alone",
                    path, exc)
        return EndOfTurn(cfg)
    return EndOfTurn(cfg, model, load_text_model(cfg))


def load_text_model(cfg: TurnConfig) -> TextTurnModel | None:
    """The words' model, or None (one log line saying what it costs and how to get it)."""
    path = text_model_path(cfg)
    if not path.exists():
        log.warning("end of turn: no words' model at %s (run `%s`): a statement the audio model holds waits "
                    "turn.unfinished_silence_ms", path, TEXT_HINT)
        return None
    try:
        return TextTurnModel.load(path)
    except Exception as exc:
        log.warning("end of turn: words' model at %s failed to load (%s; run `%s` again): a statement the audio "
                    "model holds waits turn.unfinished_silence_ms", path, exc, TEXT_HINT)
        return None


def turn_status(cfg: TurnConfig) -> tuple[bool, str, str]:
    """(ok, detail, fix) for `launch.py check`."""
    if cfg.detector == "off":
        return True, "off: a fixed vad.silence_ms endpoint", ""
    if cfg.detector == "words":
        return True, "from the words alone (turn.detector: words)", ""
    path = model_path(cfg)
    if not path.exists():
        return False, f"no Smart Turn model at {path}: judging from the words alone", FETCH_HINT
    text = text_model_path(cfg)
    if not text.exists():
        return False, (f"Smart Turn v3.2 + words ({path}); no words' model at {text}: a statement the audio "
                       "holds waits the unfinished limit"), TEXT_HINT
    return True, f"Smart Turn v3.2 + words + the words' model ({path}, {text})", ""
