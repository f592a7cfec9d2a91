"""The heavy, shared parts, loaded once per process: STT model, voices, chat model, tools, history.

Every session (the desktop loop, each browser tab, each `/ws` client, the CLI) gets its own VoiceAgent with its
own VAD state and audio output, but they all share these, because loading Whisper and Piper twice would double
the memory and the start-up time for nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from core.assistant import Assistant
from core.config import Settings
from core.llm import OllamaChat
from core.memory import History
from realtime.stt import SpeechToText, SttUnavailable, build_stt
from realtime.tts import build_tts
from realtime.tts.base import TextToSpeech
from realtime.vad import VoiceActivity, build_vad

log = logging.getLogger(__name__)


@dataclass
class Engines:
    settings: Settings
    stt: SpeechToText | None
    tts: TextToSpeech
    assistant: Assistant
    history: History
    tools: object | None = None
    stt_error: str | None = None  # why speech recognition is off, worded for the user (None: it is on)

    @classmethod
    async def load(cls, settings: Settings, *, listen: bool = True, tools: bool = True) -> Engines:
        """Load what the settings ask for; blocking model loads run in threads, side by side."""
        stt_task = asyncio.create_task(asyncio.to_thread(build_stt, settings.stt)) if listen else None
        tts = build_tts(settings.tts)
        tts_start = asyncio.create_task(tts.start())
        history = History(settings.path(settings.memory.db_path))
        toolbox = None
        if tools and settings.mcp.enabled:
            from core.tools import McpToolBox

            toolbox = McpToolBox(settings)
            try:
                await toolbox.start()
            except Exception as exc:  # tools are optional: the assistant still talks without them
                log.warning("MCP tools unavailable: %s", exc)
        assistant = Assistant(settings, OllamaChat(settings.ollama), history, toolbox)
        stt, stt_error = None, None
        if stt_task is not None:
            try:
                stt = await stt_task
            except SttUnavailable as exc:  # typing and speaking still work: say plainly what is missing
                stt_error = str(exc)
                log.error("speech recognition is off: %s", exc)
        await tts_start
        return cls(settings, stt, tts, assistant, history, toolbox, stt_error)

    def new_vad(self) -> VoiceActivity:
        return build_vad(self.settings.vad)

    async def aclose(self) -> None:
        await self.tts.aclose()
        if self.tools is not None:
            await self.tools.aclose()  # type: ignore[attr-defined]
