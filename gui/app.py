"""The Gradio page: one conversation that is typed and spoken, with settings and history beside it.

Design: the page's own JS client (static/client.js) owns the `/ws` session and renders the chat from the
pipeline's events, so a typed message and a spoken one are turns of the same VoiceAgent and the reply audio
plays through a Web Audio worklet that barge-in can flush at once. Gradio provides the layout, the text box
(whose handler only calls the JS client) and the server-side panels that need Python: the effective config and
the stored history. `serve` puts it all on one FastAPI app: /ws, /health, /client/* and the page at /.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import gradio as gr
from fastapi import FastAPI

from app.wiring import load_engines
from core.config import Settings
from gui.api import CLIENT_PATH, create_api
from gui.shutdown import GracefulServer
from realtime.engines import Engines

log = logging.getLogger(__name__)

PANEL = """
<div class="va-root">
  <div class="va-bar">
    <span class="va-state" data-state="offline">Connecting…</span>
    <label class="va-conn" title="WebSocket: straight to this app; LiveKit: through a LiveKit server and the
      assistant's agent worker (python launch.py livekit dev)">Connection <select class="va-conn-select">
      <option value="ws">WebSocket</option><option value="livekit">LiveKit</option></select></label>
    <label class="va-audio" title="where the assistant listens and speaks; switching keeps the conversation">
      Audio <select class="va-audio-select"><option value="browser">this browser</option>
      <option value="desktop">this computer</option></select></label>
    <button class="va-btn va-mic" type="button">Start microphone</button>
    <span class="va-meter" title="microphone level"><span></span></span>
    <button class="va-btn va-stop" type="button" disabled title="stop the reply">■ Stop</button>
    <span class="va-status"></span>
  </div>
  <div class="va-lk" hidden></div>
  <div class="va-banners"></div>
  <div class="va-chat" aria-live="polite"></div>
  <details class="va-latency-box"><summary>Latency</summary><div class="va-latency"></div></details>
</div>
"""
MOUNT_JS = (f"import('{CLIENT_PATH}/client.js').then((m) => m.mount(element));"
            f"import('{CLIENT_PATH}/livekit.js').then((m) => m.mountLiveKit(element));")
SEND_JS = "(t) => { if (window.assistant) window.assistant.sendText(t); return ''; }"
STREAMING_JS = "(v) => { if (window.assistant) window.assistant.setSettings({streaming: v}); }"
CHAIN_JS = "(v) => { if (window.assistant && v && v.length) window.assistant.setSettings({tts_chain: v}); }"
RESUME_JS = "(s) => { if (window.assistant && s) window.assistant.resume(s); }"
HISTORY_LIMIT = 200


def _session_choices(engines: Engines) -> list[tuple[str, str]]:
    """(label, id) for each stored conversation with messages, most recent first."""
    out: list[tuple[str, str]] = []
    for row in engines.history.sessions():
        sid = str(row.get("id") or "")
        if not sid or not row.get("messages", 1):
            continue  # a page opened and closed without a word
        when = str(row.get("updated_at") or row.get("created_at") or "")[:16].replace("T", " ")
        title = row.get("title") or next(
            (m["content"] for m in engines.history.recent(sid, HISTORY_LIMIT) if m.get("role") == "user"), "")
        title = f"“{title[:48]}…”" if len(title) > 48 else f"“{title}”" if title else sid[:8]
        count = f"{row['messages']} messages" if "messages" in row else ""
        out.append((" · ".join(x for x in (when, title, count) if x), sid))
    return out


def session_messages(engines: Engines, session_id: str | None) -> list[dict[str, str]]:
    """A stored session as chat messages; an interrupted reply shows what the user actually heard."""
    if not session_id:
        return []
    msgs: list[dict[str, str]] = []
    for row in engines.history.recent(session_id, HISTORY_LIMIT):
        role = "user" if row.get("role") == "user" else "assistant"
        content = str(row.get("content") or "")
        if row.get("interrupted"):
            content += f"\n\n*(interrupted; heard: {row.get('heard') or 'nothing'})*"
        msgs.append({"role": role, "content": content})
    return msgs


def effective_config(settings: Settings) -> dict[str, Any]:
    return settings.model_dump(mode="json")


def build_app(engines: Engines) -> gr.Blocks:
    """The page. Served by `serve` next to the /ws API it talks to (it needs it for chat and voice)."""
    settings = engines.settings
    voices = engines.tts.names

    def refresh() -> Any:
        choices = _session_choices(engines)
        return gr.update(choices=choices, value=choices[0][1] if choices else None)

    def show(session_id: str | None) -> list[dict[str, str]]:
        return session_messages(engines, session_id)

    with gr.Blocks(title="Local voice assistant", analytics_enabled=False) as demo:
        gr.Markdown("## Local voice assistant\nSpeak or type: both go into the same conversation. "
                    "Replies are spoken as they are written; speak over a reply or press Stop to cut it. "
                    "*Audio* picks the microphone and speaker: this browser's, or the computer running "
                    "the assistant.")
        gr.HTML(PANEL, js_on_load=MOUNT_JS, elem_id="va-panel")
        with gr.Row(equal_height=True):
            text = gr.Textbox(placeholder="Type a message and press Enter…", show_label=False, scale=8,
                              elem_id="va-text", lines=1, max_lines=4)
            send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="va-send")
        text.submit(None, [text], [text], js=SEND_JS)
        send.click(None, [text], [text], js=SEND_JS)

        with gr.Accordion("Settings", open=False):
            gr.Markdown("Changes apply to this conversation only; edit `config/config.yaml` to keep them.")
            with gr.Row():
                streaming = gr.Checkbox(value=settings.streaming, label="Streaming replies",
                                        info="on: speak sentence by sentence while the reply is written; "
                                             "off: the classic mode (whole reply, then speech)")
                chain = gr.Dropdown(choices=voices, value=voices, multiselect=True, label="Voice chain",
                                    info="tried in this order; a failing voice falls through to the next")
            streaming.change(None, [streaming], None, js=STREAMING_JS)
            chain.change(None, [chain], None, js=CHAIN_JS)
            gr.JSON(value=effective_config(settings), label="Effective configuration (server)",
                    max_height=300)

        with gr.Accordion("History", open=False) as history_panel:
            with gr.Row(equal_height=True):
                session = gr.Dropdown(choices=[], label="Past conversations", scale=6)
                reload_btn = gr.Button("↻ Refresh", scale=1, min_width=80)
                resume_btn = gr.Button("Continue this conversation", scale=2, min_width=120)
            past = gr.Chatbot(label="Messages", height=320, feedback_options=None, elem_id="va-history")
        history_panel.expand(refresh, None, session)
        reload_btn.click(refresh, None, session)
        session.change(show, session, past)
        resume_btn.click(None, [session], None, js=RESUME_JS)
    return demo


def create_app(engines: Engines) -> FastAPI:
    """One FastAPI app: /ws, /health and /client/* from create_api, the Gradio page mounted at /."""
    return gr.mount_gradio_app(create_api(engines), build_app(engines), path="/", footer_links=[],
                               run_history=False)


def serve(settings: Settings) -> None:
    """Load the engines, then serve the page, /ws and /health on settings.gui.host:port until stopped."""
    import uvicorn

    async def main() -> None:
        print("loading models…", flush=True)
        engines = await load_engines(settings)
        app = create_app(engines)
        config = uvicorn.Config(app, host=settings.gui.host, port=settings.gui.port, log_level="warning",
                                ws_max_size=settings.gui.max_message_bytes, log_config=None)
        server = GracefulServer(config, app.state.sessions, settings.gui.shutdown_grace_s)
        host = "localhost" if settings.gui.host in ("127.0.0.1", "0.0.0.0", "::") else settings.gui.host
        host = f"[{host}]" if ":" in host else host
        token = "?token=<gui.auth_token>" if settings.gui.auth_token else ""
        task = asyncio.create_task(server.serve())
        try:
            while not server.started and not task.done():
                await asyncio.sleep(0.05)
            if server.started:
                print(f"voice assistant ready: open http://{host}:{settings.gui.port}/{token}", flush=True)
            await task
        finally:
            await engines.aclose()
            engines.history.close()  # every committed row is on disk (WAL checkpointed) before the exit

    asyncio.run(main())
