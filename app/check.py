"""`python launch.py check`: every component's state, with the exact fix for each failure.

Exit code 0 only when every required part is ready; optional parts (a cloud voice, an optional extra, sound
devices on a machine used through the browser) are reported but do not fail the check.
"""

from __future__ import annotations

import asyncio
import sys
from functools import partial

from base.status import ComponentStatus
from core.config import Settings

Component = partial(ComponentStatus, required=True)


def _line(c: ComponentStatus) -> str:
    tag = "[ ok ]" if c.ok else ("[FAIL]" if c.required else "[warn]")
    text = f"{tag} {c.name:<16} {c.detail}"
    if not c.ok and c.fix:
        text += f"\n       fix: {c.fix}"
    return text


async def _gather(settings: Settings) -> list[ComponentStatus]:
    from core.llm import OllamaChat
    from realtime.stt import stt_status
    from realtime.tts import build_tts

    out: list[ComponentStatus] = []
    ok, detail, fix = stt_status(settings.stt)
    out.append(Component("speech-to-text", ok, detail, fix))
    from realtime.end_of_turn import turn_status

    ok, detail, fix = turn_status(settings.turn)
    out.append(Component("end of turn", ok, detail, fix, required=False))
    try:
        from realtime.vad import build_vad

        build_vad(settings.vad)
        out.append(Component("voice activity", True, f"{settings.vad.engine} (mode {settings.vad.mode})"))
    except Exception as exc:
        out.append(Component("voice activity", False, str(exc), "make setup (reinstall the locked packages)"))

    chat = OllamaChat(settings.ollama)
    ok, detail, fix = await chat.status()
    out.append(Component("ollama", ok, detail, fix))

    tts = build_tts(settings.tts)
    try:
        await tts.start()
        statuses = await tts.wait_probed(timeout=60)
    finally:
        await tts.aclose()
    for st in statuses:
        out.append(Component(f"voice: {st.name}", st.ok, st.detail, st.fix, required=False))
    any_voice = any(s.ok for s in statuses)
    out.append(Component("speech output", any_voice,
                         "at least one voice works" if any_voice else "no voice in tts.chain works",
                         "add piper or pyttsx3 to tts.chain and run `make setup`"))

    try:
        from core.memory import History

        history = History(settings.path(settings.memory.db_path))
        n = len(history.sessions(limit=1000))
        out.append(Component("history", True, f"{settings.memory.db_path} ({n} sessions)"))
    except Exception as exc:
        out.append(Component("history", False, f"{settings.memory.db_path}: {exc}",
                             "check that data/ is writable"))

    if settings.mcp.enabled:
        from core.mcp_client.toolbox import McpToolBox

        box = McpToolBox(settings)
        try:
            await asyncio.wait_for(box.start(), timeout=60)
            for name, ok, detail, fix in box.status():
                out.append(Component(name, ok, detail, fix))
        except Exception as exc:
            out.append(Component("mcp tools", False, f"{type(exc).__name__}: {exc}", "python -m mcp_server"))
        finally:
            await box.aclose()

    if settings.barge_in.policy == "echo_cancel":
        try:
            from realtime.echo import EchoCanceller

            EchoCanceller()
            out.append(Component("echo canceller", True, "WebRTC AEC3 (livekit) for barge-in over speakers"))
        except Exception as exc:
            out.append(Component("echo canceller", False, str(exc), "make setup (installs livekit)",
                                 required=False))

    from core.livekit_access import probe as livekit_probe  # optional: the scale path (a LiveKit server)

    ok, detail, fix = await livekit_probe(settings.livekit)
    out.append(Component("livekit", ok, detail, fix, required=False))

    try:
        import sounddevice as sd

        devices = sd.query_devices()
        has_in = any(d["max_input_channels"] > 0 for d in devices)
        has_out = any(d["max_output_channels"] > 0 for d in devices)
        detail = f"{len(devices)} devices (input: {'yes' if has_in else 'no'}, output: {'yes' if has_out else 'no'})"
        out.append(Component("sound devices", has_in and has_out, detail,
                             "connect a microphone and speaker, or use the browser in the app",
                             required=False))
    except Exception as exc:
        out.append(Component("sound devices", False, str(exc), "apt-get install libportaudio2", required=False))
    return out


def run_check(settings: Settings) -> int:
    components = asyncio.run(_gather(settings))
    for c in components:
        print(_line(c))
    failed = [c for c in components if c.required and not c.ok]
    print("\nall required parts are ready" if not failed
          else f"\n{len(failed)} required part(s) not ready: {', '.join(c.name for c in failed)}")
    sys.stdout.flush()
    return 0 if not failed else 1
