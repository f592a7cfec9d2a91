"""The served app in a thread and Debian's Chromium driven by Playwright, for the browser tests."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from core.config import Settings

CHROMIUM = "/usr/bin/chromium"


class LiveApp:
    """The served app (page, /ws, /health) on a free port, in a thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = settings.gui.port
        self.url = f"http://127.0.0.1:{self.port}/"
        self.server: Any = None
        self.error: BaseException | None = None
        self.loaded = threading.Event()
        self.thread = threading.Thread(target=self._run, name="live-app", daemon=True)

    def _run(self) -> None:
        import uvicorn

        from app.wiring import load_engines
        from gui.app import create_app

        async def main() -> None:
            engines = await load_engines(self.settings, tools=False)
            await engines.tts.wait_probed(30)
            config = uvicorn.Config(create_app(engines), host="127.0.0.1", port=self.port,
                                    log_level="warning")
            self.server = uvicorn.Server(config)
            self.loaded.set()
            try:
                await self.server.serve()
            finally:
                await engines.aclose()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self.error = exc
            self.loaded.set()

    def __enter__(self) -> LiveApp:
        self.thread.start()
        self.loaded.wait(180)
        for _ in range(600):
            if self.error is not None:
                raise RuntimeError(f"the app did not start: {self.error!r}")
            if self.server is not None and self.server.started:
                return self
            threading.Event().wait(0.1)
        raise RuntimeError("the app did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(20)


def launch_browser(p: Any, wav: Path | None = None) -> Any:
    """Chromium with a fake microphone (playing `wav` if given) and autoplay allowed."""
    args = ["--autoplay-policy=no-user-gesture-required", "--no-sandbox", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    if wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={wav}")
    return p.chromium.launch(executable_path=CHROMIUM, args=args)


def open_page(browser: Any, live: LiveApp) -> Any:
    """The app's page, once its client is connected; page errors collect in `page.errors`."""
    page = browser.new_page(viewport={"width": 1100, "height": 950})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto(live.url)
    page.wait_for_function("window.assistant && window.assistant.sessionId && window.assistant.player "
                           "&& window.assistant.player.node", timeout=60_000)
    return page
