"""One open utterance as the listener holds it: its audio, what was shown of it, and the pause being judged."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from base.audio import to_float32
from realtime.agreement import LocalAgreement
from realtime.end_of_turn import Verdict


@dataclass(eq=False)
class PauseDecode:
    """One pause's decode as it was asked for (the audio after any committed words, the prompt) and the ending's
    doubt once known (`realtime.stt_doubt`), asked once per pause."""

    at: int
    audio: np.ndarray
    prompt: str
    job: asyncio.Future[str]
    doubt: float | None = None


@dataclass(eq=False)
class Utterance:
    """Positions are sample offsets into `chunks` (16 kHz, preroll included), so audio time, not wall time."""

    turn_id: str
    chunks: list[np.ndarray]
    samples: int
    onset_sample: int
    last_speech_end: int
    next_partial_at: int
    silence_frames: int = 0
    shown: str = ""
    agreement: LocalAgreement = field(default_factory=LocalAgreement)
    speculative: tuple[int, asyncio.Future[str]] | None = None  # (audio end, decode) of the pause decode
    pause_job: asyncio.Future[str] | None = None  # the decode queue's own future for it (abandoned when stale)
    pause: PauseDecode | None = None  # the last pause decode with a judge, as it was asked for
    committed: tuple[int, str] | None = None  # (audio end, words) of a pause that ended a sentence
    sentence_end: tuple[int, str] | None = None  # a pause decode that ends a sentence, until its gap is known
    last_gap: tuple[int, float] | None = None  # (pause decode's audio end, ms of silence) of the last gap
    candidate_sent: bool = False
    verdict: Verdict | None = None  # the end-of-turn judge's word on the current pause
    second_look: tuple[int, str] | None = None  # (pause decode's audio end, words): the audio hears it again
    stt_error_reported: bool = False
    prompt: str | None = None  # for every decode of it (speech over a reply: OVERLAP_PROMPT); None: the usual
    closed: bool = False

    def append(self, frame: np.ndarray) -> None:
        self.chunks.append(frame)
        self.samples += len(frame)

    def audio(self, end: int | None = None) -> np.ndarray:
        pcm = np.concatenate(self.chunks)[:end]
        return to_float32(pcm)
