"""livekit-agents TTS plugin over our fallback voice chain (edge -> coqui -> piper -> pyttsx3, as configured).

Streaming cuts the LLM's text with our SentenceSplitter (an eager first phrase, then whole sentences), so the
room hears the first words while the model still writes, exactly as on the desktop; each phrase goes through
the chain (a failing voice is skipped, the reply keeps one voice when it can) and comes out as PCM s16le mono
at the chain's one rate (`tts.sample_rate`).
"""

from __future__ import annotations

import asyncio
import uuid

from livekit.agents import APIConnectionError, tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

from realtime.sentences import SentenceSplitter
from realtime.tts.base import TtsError
from realtime.tts.fallback import FallbackTTS


class FallbackVoiceTTS(tts.TTS):
    """Our voice chain as a livekit TTS: `synthesize` for one text, `stream` for text arriving piece by piece."""

    def __init__(self, chain: FallbackTTS) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=True), sample_rate=chain.sample_rate,
                         num_channels=1)
        self.chain = chain

    @property
    def model(self) -> str:
        return "+".join(self.chain.names) or "none"

    @property
    def provider(self) -> str:
        return "local voice chain"

    def synthesize(self, text: str, *,
                   conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> PhrasesChunkedStream:
        return PhrasesChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> PhrasesStream:
        return PhrasesStream(tts=self, conn_options=conn_options)

    async def speak(self, phrase: str, reply_id: str) -> bytes:
        """One phrase through the chain; every voice failing is an APIConnectionError saying why each failed."""
        try:
            speech = await self.chain.synthesize(phrase, reply_id=reply_id)
        except TtsError as exc:
            raise APIConnectionError(str(exc), retryable=False) from exc
        return speech.audio.tobytes()


class PhrasesChunkedStream(tts.ChunkedStream):
    """One whole text: spoken phrase by phrase, each pushed as soon as it is made."""

    def __init__(self, *, tts: FallbackVoiceTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._voices = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        request_id = uuid.uuid4().hex
        output_emitter.initialize(request_id=request_id, sample_rate=self._voices.sample_rate, num_channels=1,
                                  mime_type="audio/pcm")
        splitter = SentenceSplitter()
        for phrase in splitter.push(self._input_text) + splitter.flush():
            output_emitter.push(await self._voices.speak(phrase, request_id))
            output_emitter.flush()


class PhrasesStream(tts.SynthesizeStream):
    """Text pieces in (the LLM's tokens), audio out phrase by phrase; input is read while a phrase is spoken."""

    def __init__(self, *, tts: FallbackVoiceTTS, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, conn_options=conn_options)
        self._voices = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        request_id = uuid.uuid4().hex
        output_emitter.initialize(request_id=request_id, sample_rate=self._voices.sample_rate, num_channels=1,
                                  mime_type="audio/pcm", stream=True)
        output_emitter.start_segment(segment_id=request_id)
        phrases: asyncio.Queue[str | None] = asyncio.Queue()

        async def read_text() -> None:
            splitter = SentenceSplitter()
            async for piece in self._input_ch:
                ready = splitter.flush() if isinstance(piece, self._FlushSentinel) else splitter.push(piece)
                for phrase in ready:
                    phrases.put_nowait(phrase)
            for phrase in splitter.flush():
                phrases.put_nowait(phrase)
            phrases.put_nowait(None)

        async def speak() -> None:
            while (phrase := await phrases.get()) is not None:
                self._mark_started()
                output_emitter.push(await self._voices.speak(phrase, request_id))
                output_emitter.flush()

        reader = asyncio.create_task(read_text())
        try:
            await speak()
            await reader
        finally:
            reader.cancel()
        output_emitter.end_segment()
