"""The one decode queue: a running partial gives way to a pause decode, and every `/ws` session shares the queue
(with the pause prompt that the end-of-turn judge reads)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from base.events import ErrorEvent, Event, FinalTranscript
from core.config import SttConfig, TurnConfig, VadConfig
from gui.api import create_api
from realtime.decoding import DecodeScheduler
from realtime.end_of_turn import EndOfTurn
from realtime.listener import Listener
from realtime.stt import PAUSE_PROMPT, DecodeAborted, WhisperSTT
from realtime.vad import build_vad
from tests.seed_kit import listening_engines, read_until, seed_settings, sim, speech, start_and_speak


class CheckpointStt:
    """A partial "encodes" for up to 5 s, asking `give_up` as Whisper's checkpoint does; a final is quick."""

    def __init__(self) -> None:
        self.partial_started = threading.Event()

    def transcribe(self, audio: np.ndarray, *, final: bool = False,
                   give_up: Callable[[], bool] | None = None) -> str:
        if final:
            return "the final"
        self.partial_started.set()
        return encode_until_given_up(give_up, "the partial")


def encode_until_given_up(give_up: Callable[[], bool] | None, text: str) -> str:
    """A 5 s "encoder" that asks `give_up` every 5 ms, as Whisper's checkpoint would be asked."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if give_up is not None and give_up():
            raise DecodeAborted("given up")
        time.sleep(0.005)
    return text


async def test_a_running_partial_gives_up_when_a_final_is_queued() -> None:
    stt = CheckpointStt()
    decoder = DecodeScheduler(stt)
    try:
        partial = decoder.submit(np.zeros(16000, np.float32), final=False)
        await asyncio.to_thread(stt.partial_started.wait, 5)
        final = decoder.submit(np.zeros(16000, np.float32), final=True)
        assert await asyncio.wait_for(final, 4) == "the final"  # not behind the 5 s partial
        with pytest.raises(DecodeAborted):
            await partial
        assert decoder.waiting == 0 and decoder.last_final_rtf is not None
    finally:
        decoder.close()


class SlowFinalStt(CheckpointStt):
    """Finals "encode" for up to 5 s, asking `give_up` at the checkpoint; the second one is quick."""

    def __init__(self) -> None:
        super().__init__()
        self.finals = 0

    def transcribe(self, audio: np.ndarray, *, final: bool = False,
                   give_up: Callable[[], bool] | None = None) -> str:
        self.finals += final
        if not final or self.finals > 1:
            return "the real pause"
        self.partial_started.set()
        return encode_until_given_up(give_up, "the word gap")


async def test_a_running_pause_decode_that_went_stale_is_given_up() -> None:
    """The speaker went on after a word gap: its pause decode, already running, must not make the real pause
    wait behind it (cancelling the future gives it up at Whisper's checkpoint)."""
    stt = SlowFinalStt()
    decoder = DecodeScheduler(stt)
    try:
        gap = decoder.submit(np.zeros(16000, np.float32), final=True)
        await asyncio.to_thread(stt.partial_started.wait, 5)
        gap.cancel()
        real = decoder.submit(np.zeros(16000, np.float32), final=True)
        assert await asyncio.wait_for(real, 2) == "the real pause"  # not after the gap's 5 s
        assert decoder.waiting == 0
    finally:
        decoder.close()


class EncodeThenDecode:
    """A decode in two halves: an "encoder" that asks `give_up` (Whisper's checkpoint), then a "decoder" that
    cannot be stopped; `in_decoder` is set while the second half runs."""

    def __init__(self) -> None:
        self.in_encoder, self.in_decoder, self.go_on = threading.Event(), threading.Event(), threading.Event()

    def transcribe(self, audio: np.ndarray, *, final: bool = False,
                   give_up: Callable[[], bool] | None = None) -> str:
        self.in_encoder.set()
        self.go_on.wait(5)
        if give_up is not None and give_up():
            raise DecodeAborted("given up")
        self.in_decoder.set()
        time.sleep(0.2)
        return "words of the gap."


async def test_an_abandoned_decode_stops_in_the_encoder_but_keeps_words_the_decoder_wrote() -> None:
    stt = EncodeThenDecode()
    decoder = DecodeScheduler(stt)
    try:
        early = decoder.submit(np.zeros(16000, np.float32), final=True)
        await asyncio.to_thread(stt.in_encoder.wait, 5)
        decoder.abandon(early)
        stt.go_on.set()
        with pytest.raises(DecodeAborted):
            await asyncio.wait_for(early, 4)
        stt.in_encoder.clear()
        late = decoder.submit(np.zeros(16000, np.float32), final=True)
        await asyncio.to_thread(stt.in_decoder.wait, 5)
        decoder.abandon(late)  # too late to stop: its words still come, and the listener may keep them
        assert await asyncio.wait_for(late, 4) == "words of the gap."
        stt.go_on.clear()
        stt.in_encoder.clear()
        busy = decoder.submit(np.zeros(16000, np.float32), final=True)
        await asyncio.to_thread(stt.in_encoder.wait, 5)
        queued = decoder.submit(np.zeros(16000, np.float32), final=True)
        decoder.abandon(queued)
        stt.go_on.set()
        assert await asyncio.wait_for(busy, 4) == "words of the gap."
        with pytest.raises(DecodeAborted):
            await asyncio.wait_for(queued, 4)  # never started
        assert decoder.waiting == 0
    finally:
        decoder.close()


class AbortingStt:
    """Every partial is given up (as when a pause decode always comes first); finals hear the words."""

    def transcribe(self, audio: np.ndarray, *, final: bool = False,
                   give_up: Callable[[], bool] | None = None) -> str:
        if not final:
            raise DecodeAborted("given up")
        return "hello there"


async def test_a_partial_given_up_is_not_reported_as_a_failure(jfk_audio: np.ndarray) -> None:
    events: list[Event] = []
    vad = VadConfig(silence_ms=400, preemptive_ms=0)
    listener = Listener(build_vad(vad), AbortingStt(), vad, SttConfig(), events.append)
    pcm = (np.concatenate([jfk_audio[:3 * 16000], np.zeros(16000, np.float32)]) * 32767).astype(np.int16)
    for i in range(0, len(pcm), 480):
        listener.push(pcm[i:i + 480])
        await asyncio.sleep(0.001)
    await listener.flush()
    await listener.aclose()
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    assert [e.text for e in events if isinstance(e, FinalTranscript)] == ["hello there"]


def test_whisper_gives_up_at_its_checkpoints(jfk_audio: np.ndarray) -> None:
    stt = WhisperSTT(SttConfig())
    clip = jfk_audio[:3 * 16000]
    with pytest.raises(DecodeAborted):
        stt.transcribe(clip, give_up=lambda: True)  # before the encoder
    asked: list[bool] = []

    def after_the_encoder() -> bool:
        asked.append(True)
        return len(asked) >= 2

    with pytest.raises(DecodeAborted):
        stt.transcribe(clip, give_up=after_the_encoder)
    assert len(asked) == 2
    assert "fellow americans" in stt.transcribe(clip, give_up=lambda: False).lower()
    assert stt.model.give_up is None  # nothing left behind for the next decode


class PromptedStt:
    """Hears "hello there" in any audio and records which decodes were primed with a prompt."""

    def __init__(self) -> None:
        self.prompts: list[str | None] = []

    def transcribe(self, audio: np.ndarray, *, final: bool = False, prompt: str | None = None) -> str:
        if final:
            self.prompts.append(prompt)
        return "hello there"


def decoder_threads() -> int:
    return sum(t.name == "stt-decoder" and t.is_alive() for t in threading.enumerate())


def test_every_ws_session_decodes_on_the_shared_queue_with_the_pause_prompt(
        tmp_path: Path, jfk_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Sessions used to get a private queue on a timing wrapper that dropped the prompt: the browser's pauses
    were judged on unprimed text, and several clients no longer took turns on one decoder."""
    caplog.set_level(logging.INFO, logger="assistant.session")
    before = decoder_threads()
    stt = PromptedStt()
    pcm, rate = speech(jfk_path, 2.5)
    with sim() as s:
        engines = listening_engines(seed_settings(s.url, tmp_path), stt)
        engines.end_of_turn = EndOfTurn(TurnConfig(detector="words"))
        with TestClient(create_api(engines)) as client:
            for _ in range(2):
                with client.websocket_connect("/ws") as ws:
                    log: list[dict[str, object]] = []
                    start_and_speak(ws, pcm, rate)
                    ws.send_text(json.dumps({"type": "stop"}))
                    read_until(ws, lambda m: m["type"] == "latency", log)
            assert decoder_threads() - before <= 1  # the engines' one queue, not one per session
        assert engines._decoder is not None and engines._decoder.last_final_rtf is not None
    assert PAUSE_PROMPT in stt.prompts
    assert any("stt_rtf=" in r.getMessage() for r in caplog.records if r.getMessage().startswith("latency"))
