"""The heavy, shared parts a session runs on: speech model, voices, the assistant, history, tools.

Every session (the desktop loop, each browser tab, each `/ws` client, the CLI) gets its own VoiceAgent with its
own VAD state and audio output, but they all share these, because loading Whisper and Piper twice would double
the memory and the start-up time for nothing. `app.wiring.load_engines` builds them from the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from base.status import ComponentStatus
from core.assistant import Assistant
from core.config import Settings
from core.memory import History
from realtime.decoding import DecodeScheduler
from realtime.end_of_turn import TurnJudge
from realtime.stt import SpeechToText
from realtime.tts.fallback import FallbackTTS
from realtime.vad import VoiceActivity, build_vad


@dataclass
class Engines:
    settings: Settings
    stt: SpeechToText | None
    tts: FallbackTTS  # the voice chain (a single voice is a chain of one)
    assistant: Assistant
    history: History
    tools: Any = None  # the MCP tool box, or None when tools are off or failed to start
    stt_error: str | None = None  # why speech recognition is off, worded for the user (None: it is on)
    end_of_turn: TurnJudge | None = None  # judges each pause (None: the fixed vad.silence_ms endpoint)
    _decoder: DecodeScheduler | None = field(default=None, repr=False)

    @property
    def decoder(self) -> DecodeScheduler | None:
        """The one decode queue every session's listener shares (None without speech recognition)."""
        if self._decoder is None and self.stt is not None:
            self._decoder = DecodeScheduler(self.stt)
        return self._decoder

    async def statuses(self) -> list[ComponentStatus]:
        """The running parts as `/health` and the page show them: speech in, voices, the model, tools."""
        if self.stt is not None:
            stt = ComponentStatus("stt", True, "loaded")
        else:
            stt = ComponentStatus("stt", False, self.stt_error or "not loaded: the server was started without "
                                  "listening", "set stt.model: embedded (Whisper tiny.en, shipped offline)")
        try:
            ok, detail, fix = await self.assistant.chat.status()
        except Exception as exc:
            ok, detail, fix = False, f"{type(exc).__name__}: {exc}", "ollama serve"
        ollama = ComponentStatus("ollama", ok, detail, fix, required=True)
        if self.tools is None:
            tools = ComponentStatus("tools", False, "no tools: MCP is off or failed to start",
                                    "run `python -m mcp_server` to see why")
        else:
            parts = tuple(ComponentStatus(*row) for row in self.tools.status())
            broken = [p for p in parts if not p.ok]
            tools = ComponentStatus("tools", not broken, "; ".join(f"{p.name}: {p.detail}" for p in parts),
                                    "; ".join(p.fix for p in broken if p.fix), parts=parts)
        return [stt, self.tts.status(), ollama, tools]

    def new_vad(self) -> VoiceActivity:
        return build_vad(self.settings.vad)

    async def aclose(self) -> None:
        await self.assistant.writer.aclose()  # every queued history row is written (or said to be lost)
        await self.tts.aclose()
        if self._decoder is not None:
            self._decoder.close()
        if self.tools is not None:
            await self.tools.aclose()
