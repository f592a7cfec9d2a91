"""livekit-agents STT plugin over our Whisper recognizer and our Listener.

Streaming goes through the same Listener the app uses (webrtc/Silero VAD, preroll, partials with local
agreement, the end-of-turn judge and the process's one decode queue when given, else the `vad.silence_ms`
endpoint), so a LiveKit room hears exactly as the desktop does and is not cut off mid-thought, and the session
can take its turn boundaries from this STT (`turn_detection="stt"`): START_OF_SPEECH, INTERIM_TRANSCRIPT,
FINAL_TRANSCRIPT, then END_OF_SPEECH. `recognize` decodes one buffer with the final beam.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

import numpy as np
from livekit import rtc
from livekit.agents import LanguageCode, stt, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.agents.utils import AudioBuffer

from base.audio import LISTEN_RATE, to_float32, to_pcm16
from base.events import ErrorEvent, Event, FinalTranscript, PartialTranscript, SpeechEnded, SpeechStarted
from core.config import SttConfig, TurnConfig, VadConfig
from realtime.decoding import DecodeScheduler
from realtime.end_of_turn import TurnJudge
from realtime.listener import Listener
from realtime.stt import SpeechToText
from realtime.vad import VoiceActivity

log = logging.getLogger(__name__)

FINAL_WAIT_S = 10.0  # the longest END_OF_SPEECH waits for its final (an empty final, i.e. noise, never comes)


def frame_pcm(frame: rtc.AudioFrame) -> np.ndarray:
    """A frame's samples as int16 mono (channels averaged)."""
    pcm = np.frombuffer(bytes(frame.data), dtype=np.int16)
    if frame.num_channels > 1:
        pcm = pcm.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    return pcm


class WhisperSTT(stt.STT):
    """Our Whisper as a livekit STT: streaming with interim results, and batch `recognize`."""

    def __init__(self, recognizer: SpeechToText, *, vad_cfg: VadConfig, stt_cfg: SttConfig,
                 new_vad: Callable[[], VoiceActivity], language: str = "en", judge: TurnJudge | None = None,
                 turn_cfg: TurnConfig | None = None, decoder: DecodeScheduler | None = None) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=True,
                                                          offline_recognize=True))
        self.recognizer, self.vad_cfg, self.stt_cfg, self.new_vad = recognizer, vad_cfg, stt_cfg, new_vad
        self.language = language
        self.judge, self.turn_cfg, self.decoder = judge, turn_cfg, decoder  # None: fixed endpoint, own queue

    @property
    def model(self) -> str:
        return f"whisper-{self.stt_cfg.model}"

    @property
    def provider(self) -> str:
        return "faster-whisper (local)"

    def speech(self, text: str) -> stt.SpeechData:
        return stt.SpeechData(language=LanguageCode(self.language), text=text, confidence=1.0 if text else 0.0)

    async def _recognize_impl(self, buffer: AudioBuffer, *, language: NotGivenOr[str] = NOT_GIVEN,
                              conn_options: APIConnectOptions) -> stt.SpeechEvent:
        frame = utils.combine_frames(buffer)
        pcm = to_pcm16(frame_pcm(frame), frame.sample_rate, LISTEN_RATE)
        text = await asyncio.to_thread(self.recognizer.transcribe, to_float32(pcm), final=True)
        return stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT, request_id=uuid.uuid4().hex,
                               alternatives=[self.speech(text.strip())])

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN,
               conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> ListenerStream:
        return ListenerStream(stt=self, conn_options=conn_options)


class ListenerStream(stt.RecognizeStream):
    """Frames in (livekit resamples them to 16 kHz), Listener events out as livekit SpeechEvents."""

    def __init__(self, *, stt: WhisperSTT, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=stt, conn_options=conn_options, sample_rate=LISTEN_RATE)
        self._whisper = stt
        self._ends: dict[str, asyncio.Event] = {}
        self._waiters: set[asyncio.Task[None]] = set()

    async def _run(self) -> None:
        w = self._whisper
        listener = Listener(w.new_vad(), w.recognizer, w.vad_cfg, w.stt_cfg, self._on_event, decoder=w.decoder,
                            judge=w.judge, turn_cfg=w.turn_cfg)
        try:
            async for item in self._input_ch:
                if isinstance(item, self._FlushSentinel):
                    await listener.flush()
                else:
                    listener.push(frame_pcm(item))
            await listener.flush()
            self._release(None)  # every final is out: turns still waiting had none (noise)
            if self._waiters:
                await asyncio.gather(*self._waiters, return_exceptions=True)
        finally:
            await listener.aclose()
            for task in self._waiters:
                task.cancel()

    def _send(self, kind: stt.SpeechEventType, turn_id: str, text: str | None = None, **extra: float) -> None:
        alternatives = [self._whisper.speech(text)] if text is not None else []
        self._event_ch.send_nowait(stt.SpeechEvent(type=kind, request_id=turn_id, alternatives=alternatives,
                                                   **extra))  # type: ignore[arg-type]

    def _on_event(self, ev: Event) -> None:
        kind = stt.SpeechEventType
        if isinstance(ev, SpeechStarted):
            self._ends[ev.turn_id] = asyncio.Event()
            self._send(kind.START_OF_SPEECH, ev.turn_id, speech_start_time=ev.t)
        elif isinstance(ev, PartialTranscript) and ev.text:
            self._send(kind.INTERIM_TRANSCRIPT, ev.turn_id, ev.text)
        elif isinstance(ev, SpeechEnded):
            # livekit closes the turn on END_OF_SPEECH with the finals it has: send it after this turn's final
            task = asyncio.get_running_loop().create_task(self._end_after_final(ev))
            self._waiters.add(task)
            task.add_done_callback(self._waiters.discard)
        elif isinstance(ev, FinalTranscript):
            self._send(kind.FINAL_TRANSCRIPT, ev.turn_id, ev.text)
            self._release(ev.turn_id)
        elif isinstance(ev, ErrorEvent):
            log.warning("speech to text: %s", ev.message)

    def _release(self, turn_id: str | None) -> None:
        """Finals come out in turn order: a final for one turn means every earlier turn's final is out too."""
        for tid, done in list(self._ends.items()):
            done.set()
            if tid == turn_id:
                break

    async def _end_after_final(self, ev: SpeechEnded) -> None:
        done = self._ends.setdefault(ev.turn_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):  # noise: no final comes, and the turn still ends
            await asyncio.wait_for(done.wait(), FINAL_WAIT_S)
        self._ends.pop(ev.turn_id, None)
        if ev.duration_s:
            self._event_ch.send_nowait(stt.SpeechEvent(
                type=stt.SpeechEventType.RECOGNITION_USAGE, request_id=ev.turn_id,
                recognition_usage=stt.RecognitionUsage(audio_duration=ev.duration_s)))
        self._send(stt.SpeechEventType.END_OF_SPEECH, ev.turn_id, speech_end_time=ev.t)
