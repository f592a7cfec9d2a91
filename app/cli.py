"""Command-line front doors: `converse` (one scripted turn, JSON lines out) and `desktop` (mic + speaker).

`converse` is the harness of the end-to-end tests and the scriptable API: it runs the very pipeline the app runs.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from app.wiring import load_engines
from base.events import ErrorCode, ErrorEvent, Event, TtsAudio, TurnDone
from core.config import Settings
from realtime.audio_out import BufferedOutput

# errors after which the reply is missing or incomplete: `converse` exits 3
TURN_FAILED = {ErrorCode.LLM_UNAVAILABLE, ErrorCode.LLM_TIMEOUT, ErrorCode.LLM_MODEL_MISSING, ErrorCode.LLM_ERROR,
               ErrorCode.LLM_STREAM_CUT, ErrorCode.TTS_UNAVAILABLE, ErrorCode.INTERNAL}


def _printer(out: list[Event]) -> object:
    def emit(ev: Event) -> None:
        out.append(ev)
        print(json.dumps(ev.to_dict(), ensure_ascii=False), flush=True)

    return emit


async def _converse(settings: Settings, audio: str | None, text: str | None, out: str, speed: float,
                    tools: bool) -> int:
    from realtime.audio_in import FileSource
    from realtime.voice_agent import VoiceAgent

    if audio is not None and not Path(audio).is_file():
        print(json.dumps(ErrorEvent(turn_id="", code=ErrorCode.AUDIO_INPUT, recoverable=False,
                                    message=f"audio file not found: {audio}").to_dict()), flush=True)
        return 2
    engines = await load_engines(settings, listen=audio is not None, tools=tools)
    if audio is not None and engines.stt is None:
        print(json.dumps(ErrorEvent(turn_id="", code=ErrorCode.STT_FAIL, recoverable=False,
                                    message=f"cannot transcribe {audio}: {engines.stt_error}").to_dict()), flush=True)
        await engines.aclose()
        return 2
    sink = BufferedOutput(settings.tts.sample_rate)
    agent = VoiceAgent(engines, sink, listen=audio is not None)
    seen: list[Event] = []
    agent.subscribe(_printer(seen))  # type: ignore[arg-type]
    try:
        if audio is not None:
            await FileSource(audio, speed=speed).run(agent.push_audio)
            await agent.end_of_input()
        else:
            await agent.submit_text(text or "")
            await agent.wait_idle()
    finally:
        await agent.aclose()
        await engines.aclose()
    if not any(isinstance(e, TurnDone) for e in seen):
        ev = ErrorEvent(turn_id="", code=ErrorCode.NO_SPEECH, message=f"no speech was recognized in {audio}")
        print(json.dumps(ev.to_dict()), flush=True)
        return 1
    if any(isinstance(e, TtsAudio) for e in seen):
        seconds = sink.write_wav(Path(out) if Path(out).is_absolute() else settings.path(out))
        print(f"reply audio: {out} ({seconds:.1f} s)", file=sys.stderr)
    failed = [e for e in seen if isinstance(e, ErrorEvent) and e.code in TURN_FAILED]
    if failed:  # the apology was spoken, but a script must know the answer is missing
        print(f"the turn failed: {failed[0].code}: {failed[0].message}", file=sys.stderr)
        return 3
    return 0


def converse(settings: Settings, *, audio: str | None, text: str | None, out: str, speed: float = 1.0,
             tools: bool = True) -> int:
    return asyncio.run(_converse(settings, audio, text, out, speed, tools))


async def _desktop(settings: Settings) -> int:
    from realtime.desktop import DesktopAudio
    from realtime.voice_agent import VoiceAgent

    agent: VoiceAgent | None = None

    def on_frame(pcm: Any) -> None:
        if agent is not None:  # frames that arrive while the models load are dropped
            agent.push_audio(pcm)

    def on_error(ev: Event) -> None:
        if agent is not None:
            agent.emit(ev)

    devices = DesktopAudio(settings.audio, settings.tts.sample_rate, on_frame, on_error)
    await devices.open()  # before the models load: a missing device is reported in a second
    engines = await load_engines(settings)
    agent = VoiceAgent(engines, devices.speaker)

    def show(ev: Event) -> None:
        if ev.type in ("state", "final_transcript", "sentence", "error", "interrupted", "tool_call"):
            print(json.dumps(ev.to_dict(), ensure_ascii=False), flush=True)

    agent.subscribe(show)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("Listening. Speak; Ctrl+C quits.", file=sys.stderr)
    try:
        await stop.wait()
    finally:
        if devices.mic is not None:
            await devices.mic.stop()  # no more frames into the closing agent
        await agent.aclose()
        await devices.close()
        await engines.aclose()
    return 0


def desktop(settings: Settings) -> int:
    from realtime.desktop import DesktopAudioError

    try:
        return asyncio.run(_desktop(settings))
    except DesktopAudioError as exc:  # no sound device: say which and how to pick one
        print(f"desktop audio unavailable: {exc.problem}; fix: {exc.fix}", file=sys.stderr)
        return 1
