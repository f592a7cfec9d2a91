"""The whole app (Gradio page, /ws, /health, the Guard) served by uvicorn on a real port, in a thread.

Configured like `gui.app.serve` (host, port, `ws_max_size` from `gui.max_message_bytes`), but with the tests'
fast engines (a tone voice, the scripted Ollama server) instead of loading the models.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from core.config import GuiConfig, Settings
from gui.app import create_app
from tests.wsclient import make_engines


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_gui(settings: Settings, **gui: Any) -> Settings:
    """Settings with `gui` keys changed, validated like the YAML file would be."""
    merged = {**settings.gui.model_dump(), **gui}
    return settings.model_copy(update={"gui": GuiConfig.model_validate(merged)})


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """Serve the app on settings.gui.host:port until the block ends; yields the loopback base URL (no scheme)."""
    app = create_app(make_engines(settings))
    config = uvicorn.Config(app, host=settings.gui.host, port=settings.gui.port, log_level="warning",
                            ws_max_size=settings.gui.max_message_bytes, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{settings.gui.port}"
    finally:
        server.should_exit = True
        thread.join(15)
