"""Wiring: build the shared engines from the settings, loading the heavy models once, side by side."""

from __future__ import annotations

import asyncio
import logging

from core.assistant import Assistant
from core.config import Settings
from core.llm import OllamaChat
from core.memory import History
from realtime.end_of_turn import build_end_of_turn
from realtime.engines import Engines
from realtime.stt import SttUnavailable, build_stt
from realtime.tts import build_tts

log = logging.getLogger(__name__)


async def load_engines(settings: Settings, *, listen: bool = True, tools: bool = True) -> Engines:
    """Load what the settings ask for; blocking model loads run in threads, side by side."""
    stt_task = asyncio.create_task(asyncio.to_thread(build_stt, settings.stt)) if listen else None
    turn_task = asyncio.create_task(asyncio.to_thread(build_end_of_turn, settings.turn)) if listen else None
    tts = build_tts(settings.tts)
    tts_start = asyncio.create_task(tts.start())
    history = History(settings.path(settings.memory.db_path))
    toolbox = None
    if tools and settings.mcp.enabled:
        from core.mcp_client.toolbox import McpToolBox

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
    judge = await turn_task if turn_task is not None else None
    return Engines(settings, stt, tts, assistant, history, toolbox, stt_error, end_of_turn=judge)
