"""The page's LiveKit mode (gui/static/livekit.js) in Debian's Chromium against the real app routes: the switch
says what to set when LiveKit is not configured; when it is, the npm bundle loads from the app (no CDN), a token
is fetched and the connection attempt's failure (no server can run here) is shown, not swallowed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn

from core.config import LIVEKIT_ENV
from gui.api import create_api
from gui.livekit_routes import CLIENT_BUNDLE
from tests.livebrowser import CHROMIUM
from tests.livekit_helpers import KEY, SECRET
from tests.livekit_helpers import livekit_settings as settings
from tests.netutil import free_port
from tests.wsclient import make_engines

if TYPE_CHECKING:
    from playwright.sync_api import Page, Playwright

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PAGE = """<!doctype html><html><body><div class="va-root">
<select class="va-conn-select"><option value="ws">WebSocket</option><option value="livekit">LiveKit</option></select>
<div class="va-lk" hidden></div></div>
<script type="module">import {mountLiveKit} from "/client/livekit.js"; mountLiveKit(document.body);</script>
</body></html>"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in LIVEKIT_ENV.values():
        monkeypatch.delenv(var, raising=False)


def serve(app: object) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def open_page(base: str) -> tuple[Playwright, Page]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
    page = browser.new_page()
    page.route(base + "/lk-test", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    page.goto(base + "/lk-test")
    return pw, page


@pytest.mark.usefixtures("clean_env")
def test_switch_says_what_to_set(tmp_path: Path) -> None:
    for base in serve(create_api(make_engines(settings(tmp_path)))):
        pw, page = open_page(base)
        try:
            page.wait_for_function("window.assistantLiveKit && window.assistantLiveKit.status.message")
            assert "not configured" in page.inner_text("option[value=livekit]")
            page.select_option(".va-conn-select", "livekit")
            page.wait_for_function("document.querySelector('.va-lk-note').textContent.length > 0")
            note = page.inner_text(".va-lk-note")
            assert "LIVEKIT_URL" in note and "LIVEKIT_API_SECRET" in note and "livekit-server --dev" in note
        finally:
            pw.stop()


@pytest.mark.usefixtures("clean_env")
def test_bundle_loads_and_connection_failure_is_shown(tmp_path: Path) -> None:
    if not CLIENT_BUNDLE.exists():
        pytest.fail("livekit-client is not installed: run `make .tools/.stamp-livekit-client`")
    cfg = settings(tmp_path, url=f"ws://127.0.0.1:{free_port()}", api_key=KEY, api_secret=SECRET)
    for base in serve(create_api(make_engines(cfg))):
        pw, page = open_page(base)
        try:
            page.wait_for_function("window.assistantLiveKit && window.assistantLiveKit.status.configured")
            with page.expect_request(lambda r: r.url.endswith("/v1/livekit/token")):
                page.select_option(".va-conn-select", "livekit")
            page.wait_for_function("document.querySelector('.va-lk-note').textContent.length > 0", timeout=30000)
            assert page.evaluate("typeof window.LivekitClient.Room") == "function"
            assert page.inner_text(".va-lk-state") == "LiveKit: not connected"
            assert "signal connection" in page.inner_text(".va-lk-note")  # livekit-client really tried
            assert SECRET not in page.content()
        finally:
            pw.stop()
