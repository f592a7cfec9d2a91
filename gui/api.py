"""The HTTP side of the assistant: `GET /health`, the `/ws` streaming API, `/v1` REST and the page's client.

`/ws` speaks two dialects, chosen by the first message (gui/dialects.py): `start` opens the seed's streaming
protocol (gui/seed_session.py, README "Streaming mode"), `hello` the native one below; anything else first is a
PROTOCOL_VIOLATION and the socket is closed with 1008.

Native protocol (one VoiceAgent, i.e. one conversation, per connection):

Client -> server
  binary frame   PCM16 little-endian mono 16 kHz microphone audio, any length (30-60 ms frames work best);
                 an odd byte count is refused with BAD_MESSAGE.
  text frame     one JSON object:
    {"type": "hello", "session_id": "...", "listen": true, "report_playback": true,
     "streaming": true, "tts_chain": ["piper"], "audio": "browser"}
                 required as the first message: continue a stored session (default: a new one),
                 listen to mic audio or not (default true), whether this client will send playback reports
                 (default false: audio counts as heard once sent), and per-session settings as below.
                 "audio": "desktop" makes this computer's microphone and speaker the session's audio (one
                 session at a time): binary frames are then refused and no reply audio is sent, events
                 still are. If the devices are taken or cannot open, an AUDIO_INPUT / AUDIO_OUTPUT error
                 says why and the session uses the client's audio ("browser") instead.
    {"type": "text", "text": "..."}           a typed message; joins the same conversation as speech.
    {"type": "interrupt"}                      stop the reply now (the stop button).
    {"type": "playback", "played_samples": N, "epoch": E}
                 what the client's player has really played since the last `clear` (send every ~100 ms while
                 playing); `epoch` (optional) is the one of the last `clear`, so late reports are ignored.
    {"type": "end_of_input"}                   the audio source ended (a file): finalize what was said.
    {"type": "settings", "streaming": bool, "tts_chain": ["piper", "pyttsx3"]}
                 switch this session's reply mode and voice chain (a subset of the server's chain, in order).

Server -> client
  text frame     `{"type": "ready", "session_id", "sample_rate", "listen", "audio", "devices", "streaming",
                 "tts_chain", "voices"}` first (`devices`: the desktop mic and speaker names, or {}), then
                 every pipeline event as `event.to_dict()`: state, speech_started, speech_ended,
                 partial_transcript, final_transcript, llm_token, tool_call, tool_pending,
                 tool_result, sentence, tts_audio, playback, interrupted, latency, turn_done,
                 error {code, message, recoverable}. Also `{"type": "clear", "epoch": E}` when the reply is
                 cut (barge-in, interrupt, a new message): drop all queued audio at once;
                 to a client that sends playback reports, `{"type": "hold", "held": true}` when the user
                 talks over the reply (hold the player where it is), `{"held": false}` to play on from there;
                 `{"type": "settings", ...}` answering a settings message; `{"type": "input_ended"}` once an
                 `end_of_input` has been processed and its reply has finished; after a hello that names a
                 session, `{"type": "history", "messages": [{role, content, interrupted, heard}]}`.
  binary frame   reply audio: uint32 little-endian `seq` (the phrase number of its `sentence` event), then
                 PCM16 LE mono at `sample_rate` from `ready`.

A malformed message (bad JSON, unknown type, wrong field, odd-sized audio, over a limit of gui/limits.py) gets an
`error` event with code BAD_MESSAGE naming the problem and the fix; the connection stays open and the conversation
goes on (50 malformed messages in a row close it with code 1008). Every route, this one included, sits behind
gui/security.py's Host, Origin and token checks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from gui.dialects import serve_socket
from gui.livekit_routes import livekit_router
from gui.rest import rest_router
from gui.security import Guard, scrub
from gui.session_base import SocketSession
from realtime.desktop import DesktopSlot
from realtime.engines import Engines

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
CLIENT_PATH = "/client"


async def health_report(engines: Engines, sessions: int) -> dict[str, Any]:
    """Each component's state, with the fix where one is failing."""
    statuses = await engines.statuses()
    token = engines.settings.gui.auth_token
    report = {"ok": all(s.ok for s in statuses if s.required),
              "components": {s.name: s.to_dict() for s in statuses}, "sessions": sessions}
    return dict(scrub(report, [token.get_secret_value()] if token else []))  # no URL passwords, no token


def create_api(engines: Engines) -> FastAPI:
    """The FastAPI app: /health, /ws, /v1/*, the page's client files under /client, all behind the Guard."""
    app = FastAPI(title="Local voice assistant", docs_url="/docs", redoc_url=None,
                  description="Voice and text chat with a local model: `/ws` (streaming, two dialects) and "
                              "`/v1/*` (plain HTTP chat and stored sessions).")
    app.add_middleware(Guard, gui=engines.settings.gui)  # wraps every route, Gradio's too once mounted
    active: set[SocketSession] = set()
    desktop_slot = DesktopSlot()  # this computer's mic and speaker: one /ws session at a time
    app.state.engines = engines
    app.state.sessions = active
    app.state.desktop_slot = desktop_slot

    @app.get("/health")
    async def health() -> JSONResponse:
        report = await health_report(engines, len(active))
        return JSONResponse(report, status_code=200 if report["ok"] else 503)

    def register(session: SocketSession) -> Callable[[], None]:
        active.add(session)
        return lambda: active.discard(session)

    @app.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket) -> None:
        await serve_socket(engines, websocket, desktop_slot, register)

    app.include_router(rest_router(engines))

    app.include_router(livekit_router(engines.settings.livekit))  # tokens for the page's LiveKit mode
    app.mount(CLIENT_PATH, StaticFiles(directory=STATIC_DIR), name="client")
    return app
