"""The assistant as a LiveKit agent: an `Agent`, an `AgentSession` factory and the worker behind
`python launch.py livekit dev|start|console`.

When one desktop is not enough (many users, many rooms, phones), a LiveKit server carries the audio and this
worker joins each room with the app's own parts: our Whisper and Listener (whose VAD endpoint decides when the
user's turn ends: `turn_detection="stt"`), our assistant (Ollama, MCP tools, memory, history) and our voices.
Interruptions: the user's words (an interim transcript) cut the agent off, as barge-in does on the desktop.
Pre-connect audio: what the user says while the agent is still joining is buffered and heard.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from livekit.agents import Agent, AgentServer, AgentSession, ChatMessage, JobContext, JobProcess, cli, room_io
from livekit.agents.voice.events import ConversationItemAddedEvent

from app.wiring import load_engines
from base.events import Event, ToolCall, ToolPending, ToolResult
from core.config import Settings, load_or_exit
from realtime.end_of_turn import build_end_of_turn
from realtime.engines import Engines
from realtime.livekit.llm import AssistantLLM
from realtime.livekit.stt import WhisperSTT
from realtime.livekit.tts import FallbackVoiceTTS
from realtime.stt import SttUnavailable, build_stt

log = logging.getLogger(__name__)

CONFIG_ENV = "ASSISTANT_CONFIG_FILE"  # `--config` handed to the worker's job processes
EVENTS_TOPIC = "assistant.events"  # data messages the page shows: tool calls and results
INTERRUPT_AFTER_S = 0.3  # speech the user must make before the agent stops talking


class AssistantAgent(Agent):
    """The assistant in a room. The system prompt, memory and tools are the assistant's own (see
    realtime.livekit.llm); livekit's `instructions` only label the agent in its own tooling."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(instructions=settings.ollama.system_prompt)


def build_session(engines: Engines, *, session_id: str,
                  on_event: Callable[[Event], None] | None = None) -> tuple[AgentSession, AssistantLLM]:
    """An AgentSession over our engines, for one conversation (`session_id` in our History).

    Without a speech model (engines.stt is None) the session still takes typed text.
    """
    s = engines.settings
    mind = AssistantLLM(engines.assistant, session_id=session_id, on_event=on_event)
    kwargs: dict[str, Any] = {}
    if engines.stt is not None:
        kwargs["stt"] = WhisperSTT(engines.stt, vad_cfg=s.vad, stt_cfg=s.stt, new_vad=engines.new_vad,
                                   judge=engines.end_of_turn, turn_cfg=s.turn, decoder=engines.decoder)
    session: AgentSession = AgentSession(
        llm=mind, tts=FallbackVoiceTTS(engines.tts), vad=None, **kwargs,
        turn_handling={
            "turn_detection": "stt",  # our Listener's endpoint (the end-of-turn judge's) ends the turn
            "endpointing": {"min_delay": 0.0, "max_delay": 1.0},  # it has already waited for the silence
            "interruption": {"enabled": True, "min_duration": INTERRUPT_AFTER_S},
            # a reply started before the turn surely ended would store the user's words twice
            "preemptive_generation": {"enabled": False},
        },
    )

    @session.on("conversation_item_added")
    def _stored(ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if isinstance(item, ChatMessage) and item.role == "assistant":
            mind.record_heard(item.text_content or "", interrupted=bool(item.interrupted))

    return session, mind


def room_options(engines: Engines) -> room_io.RoomOptions:
    """16 kHz in (what Whisper takes), the voices' own rate out, pre-connect audio on."""
    return room_io.RoomOptions(
        audio_input=room_io.AudioInputOptions(sample_rate=16000, pre_connect_audio=True),
        audio_output=room_io.AudioOutputOptions(sample_rate=engines.tts.sample_rate))


def event_payload(ev: Event) -> bytes | None:
    """Tool activity as a small JSON data message for the page (words go by livekit's transcription)."""
    if isinstance(ev, ToolCall | ToolPending | ToolResult):
        return json.dumps(ev.to_dict()).encode()
    return None


def prewarm(proc: JobProcess) -> None:
    """Once per worker process: load Whisper and the end-of-turn judge (slow, loop-free) before any room asks."""
    settings = load_or_exit(os.environ.get(CONFIG_ENV))
    proc.userdata["turn"] = build_end_of_turn(settings.turn)
    try:
        proc.userdata["stt"] = build_stt(settings.stt)
    except SttUnavailable as exc:  # rooms still get typed chat and speech out
        log.error("speech recognition is off in LiveKit rooms: %s", exc)
        proc.userdata["stt"] = None


async def entrypoint(ctx: JobContext) -> None:
    """One room: the loop-bound parts (voices, tools, assistant) are made here, on this job's event loop."""
    settings = load_or_exit(os.environ.get(CONFIG_ENV))
    engines = await load_engines(settings, listen=False)
    engines.stt = ctx.proc.userdata.get("stt")
    engines.end_of_turn = ctx.proc.userdata.get("turn")
    ctx.add_shutdown_callback(engines.aclose)
    session_id = engines.history.new_session(f"LiveKit room {ctx.room.name}")
    tasks: set[asyncio.Task[None]] = set()

    def publish(ev: Event) -> None:
        if (payload := event_payload(ev)) is not None and ctx.room.isconnected():
            task = asyncio.get_running_loop().create_task(
                ctx.room.local_participant.publish_data(payload, topic=EVENTS_TOPIC))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    session, _ = build_session(engines, session_id=session_id, on_event=publish)
    await session.start(agent=AssistantAgent(settings), room=ctx.room, room_options=room_options(engines))


def make_server(settings: Settings) -> AgentServer:
    """The worker: registers with the LiveKit server and runs `entrypoint` for every room it is sent to."""
    lk = settings.livekit
    server = AgentServer(setup_fnc=prewarm, ws_url=lk.url, api_key=lk.api_key,
                         api_secret=lk.api_secret.get_secret_value() if lk.api_secret else None)
    server.rtc_session(entrypoint)
    return server


def run(settings: Settings, argv: list[str], *, config: str | None = None) -> int:
    """`launch.py livekit <dev|start|console> [livekit options]`: livekit's own CLI over our worker."""
    if not argv or argv[0] not in ("dev", "start", "console", "connect"):
        print("usage: python launch.py livekit {dev|start|console} [options]  (console: this computer's mic "
              "and speaker, no server; dev/start: join the LiveKit server in the livekit: config)", file=sys.stderr)
        return 2
    if argv[0] in ("dev", "start", "connect") and not settings.livekit.configured:
        from core.livekit_access import not_configured_message

        print(not_configured_message(settings.livekit), file=sys.stderr)
        return 2
    if config:
        os.environ[CONFIG_ENV] = os.path.abspath(config)
    sys.argv = ["launch.py livekit", *argv]
    try:
        cli.run_app(make_server(settings))
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int | None) else 1
    return 0
