"""The real page in Debian's Chromium: typed and spoken turns, reply audio played by the Web Audio client.

The whole app runs as a user would start it (Engines.load with the embedded Whisper tiny.en and the shipped
Piper voice, the Gradio page, /ws) against the scripted Ollama server; Chromium's fake microphone plays
../shared/audio/jfk.flac. What the page played is read from the playback worklet's own reports.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from app.ollama_sim import OllamaSim, Reply, Rule
from core.config import load_settings
from tests.livebrowser import LiveApp, launch_browser, open_page
from tests.netutil import free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]

STORY = ("Here is a long story for you. It begins on a quiet morning by the sea. "
         "A fisherman walks to his boat. He looks at the sky and thinks about the weather. "
         "Then he sets out across the grey water. "
         "The waves are small and the wind is kind. He sings an old song while he works.")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    tmp = tmp_path_factory.mktemp("browser")
    rules = [Rule("story", [Reply(STORY)])]
    with OllamaSim(rules, first_token_s=0.2, tokens_per_s=40) as sim:
        memory = {"db_path": str(tmp / "a.db"), "chroma_path": str(tmp / "chroma"), "embedder": "none"}
        settings = load_settings(
            ollama={"host": sim.url}, tts={"chain": ["piper"]}, mcp={"enabled": False}, memory=memory,
            vad={"silence_ms": 1500},  # Kennedy pauses about a second after "Americans": keep it one turn
            turn={"detector": "off"},  # the page is under test here, not the end-of-turn judge
            gui={"host": "127.0.0.1", "port": free_port()},
        )
        with LiveApp(settings) as app:
            yield app


@pytest.fixture(scope="module")
def mic_wav(tmp_path_factory: pytest.TempPathFactory, jfk_path: Path) -> Path:
    """jfk.flac as the WAV Chromium's fake mic reads, with silence after it: Chromium loops the file."""
    audio, rate = sf.read(str(jfk_path), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    padded = np.concatenate([np.zeros(rate // 2, np.float32), mono, np.zeros(rate * 40, np.float32)])
    out = tmp_path_factory.mktemp("mic") / "jfk.wav"
    sf.write(str(out), padded, rate, subtype="PCM_16")
    return out


def _events(page: Any, kind: str) -> list[dict[str, Any]]:
    return list(page.evaluate("(k) => window.assistant.events.filter((e) => e.type === k)", kind))


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def test_typed_message_is_answered_in_the_chat_and_spoken(live: LiveApp, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_browser(p)
        page = open_page(browser, live)
        page.fill("#va-text textarea", "Hello, who are you?")
        page.press("#va-text textarea", "Enter")
        page.wait_for_function("window.assistant.events.some((e) => e.type === 'turn_done')", timeout=60_000)
        stats = page.evaluate("window.assistant.stats")
        chat = page.inner_text(".va-chat")
        page.screenshot(path=str(tmp_path / "typed.png"), full_page=True)
        assert "Hello, who are you?" in chat
        assert "I heard you say: Hello, who are you. That is all" in chat  # the scripted model's reply, streamed in
        assert page.input_value("#va-text textarea") == ""  # the box is cleared after sending
        # the reply audio came over /ws and the playback worklet played all of it before the turn closed
        assert stats["audioSamples"] > live.settings.tts.sample_rate  # over a second of speech
        assert stats["playedSamples"] == stats["audioSamples"]
        states = [e["state"] for e in _events(page, "state")]
        assert "thinking" in states and "speaking" in states
        # the latency chart draws this turn from the same `latency` event the benchmark reads
        page.click(".va-latency-box summary")
        page.wait_for_selector(".va-lat-row", timeout=10_000)
        row = page.inner_text(".va-lat-row")
        latency = _events(page, "latency")[-1]
        waited = latency["marks"]["first_played"] - latency["marks"]["turn_start"]
        assert row.startswith("typed ") and abs(int(row.split()[1]) - waited * 1000) <= 1
        assert page.locator(".va-lat-bar > span").count() == 3
        # the history panel lists this conversation and shows its messages, read back from the database
        page.get_by_text("History", exact=True).click()
        page.wait_for_function("(document.querySelector('#va-history') || {innerText: ''}).innerText"
                               ".includes('I heard you say: Hello, who are you. That is all')", timeout=30_000)
        # switching off streaming in the settings panel reaches this session
        page.get_by_text("Settings", exact=True).click()
        page.get_by_label("Streaming replies").uncheck()
        page.wait_for_function("window.assistant.settings.streaming === false", timeout=10_000)
        page.screenshot(path=str(tmp_path / "panels.png"), full_page=True)
        # "Continue this conversation" reconnects the page to the stored session
        first = page.evaluate("window.assistant.sessionId")
        page.get_by_text("Continue this conversation").click()
        page.wait_for_function("(s) => window.assistant.sessionId === s && "
                               "window.assistant.events.filter((e) => e.type === 'ready').length === 2",
                               arg=first, timeout=10_000)
        page.wait_for_function("document.querySelector('.va-chat').innerText.includes('Hello, who are you?')",
                               timeout=10_000)  # the continued conversation is shown again
        assert not page.errors
        browser.close()


def test_stop_button_cuts_the_reply_at_once(live: LiveApp) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_browser(p)
        page = open_page(browser, live)
        page.fill("#va-text textarea", "Tell me a story")
        page.click("#va-send")
        page.wait_for_function("window.assistant.stats.playedSamples > 22050", timeout=60_000)
        assert page.is_enabled(".va-stop")
        page.click(".va-stop")
        page.wait_for_function("window.assistant.events.some((e) => e.type === 'turn_done')", timeout=30_000)
        played = page.evaluate("window.assistant.stats.playedSamples")
        page.wait_for_timeout(1000)
        stats = page.evaluate("window.assistant.stats")
        interrupted = _events(page, "interrupted")
        assert stats["clears"] >= 1 and interrupted
        assert stats["playedSamples"] == played  # nothing more came out of the speaker after the stop
        # the heard text is the start of the story, not all of it
        heard = interrupted[0]["heard"]
        assert heard and STORY.startswith(heard.rstrip("…").split("…")[0][:20]) and len(heard) < len(STORY)
        assert "you heard" in page.inner_text(".va-chat")
        browser.close()


def test_microphone_turn_shows_the_transcript_and_speaks_the_reply(live: LiveApp, mic_wav: Path,
                                                                   tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_browser(p, mic_wav)
        page = open_page(browser, live)
        page.click(".va-mic")
        page.wait_for_function("window.assistant.events.some((e) => e.type === 'partial_transcript')",
                               timeout=60_000)
        assert page.inner_text(".va-state") == "Listening" or _events(page, "state")
        page.wait_for_function("window.assistant.events.some((e) => e.type === 'turn_done')", timeout=120_000)
        page.screenshot(path=str(tmp_path / "voice.png"), full_page=True)
        finals = [e["text"] for e in _events(page, "final_transcript")]
        stats = page.evaluate("window.assistant.stats")
        chat = page.inner_text(".va-chat")
        page.click(".va-mic")  # stop the microphone
        browser.close()
    # tiny.en on a browser-captured, resampled signal sometimes hears "asked not": the rest is what matters
    assert any("not what your country can do for you" in _words(t) for t in finals), finals
    assert "not what your country can do for you" in _words(chat)  # shown in the chat
    assert "I heard you say" in chat  # the reply to the spoken turn
    assert stats["micFrames"] > 100  # 40 ms frames streamed up the socket
    assert stats["playedSamples"] > live.settings.tts.sample_rate  # and the reply was spoken


def mic_asking_for_a_story_then(tmp_path_factory: pytest.TempPathFactory, name: str,
                                 over: np.ndarray, rate: int = 44100) -> Path:
    """The fake mic: the user asks for a story (Piper's voice), waits 7 s, then says `over` over the reply."""
    import soxr

    from realtime.tts.piper_voice import PiperTTS

    ask = asyncio.run(PiperTTS(sample_rate=22050).synthesize("Please tell me a long story."))
    ask_pcm = soxr.resample(ask.audio.astype(np.float32) / 32768, 22050, rate)
    audio = np.concatenate([np.zeros(rate // 2, np.float32), ask_pcm, np.zeros(rate * 7, np.float32), over,
                            np.zeros(rate * 60, np.float32)])
    out = tmp_path_factory.mktemp("mic") / name
    sf.write(str(out), audio, rate, subtype="PCM_16")
    return out


@pytest.fixture(scope="module")
def barge_in_wav(tmp_path_factory: pytest.TempPathFactory, jfk_path: Path) -> Path:
    """Kennedy's first 3 s over the story."""
    import soxr

    jfk, jfk_rate = sf.read(str(jfk_path), dtype="float32", always_2d=True)
    return mic_asking_for_a_story_then(tmp_path_factory, "barge_in.wav",
                                       soxr.resample(jfk.mean(axis=1), jfk_rate, 44100)[: 44100 * 3])


def test_talking_over_the_reply_interrupts_it(live: LiveApp, barge_in_wav: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_browser(p, barge_in_wav)
        page = open_page(browser, live)
        page.click(".va-mic")
        page.wait_for_function("window.assistant.events.some((e) => e.type === 'interrupted')", timeout=90_000)
        interrupted = _events(page, "interrupted")[0]
        story_turn = interrupted["turn_id"]
        page.wait_for_function("window.assistant.events.filter((e) => e.type === 'final_transcript').length >= 2",
                               timeout=60_000)
        finals = _events(page, "final_transcript")
        stats = page.evaluate("window.assistant.stats")
        chat = page.inner_text(".va-chat")
        page.click(".va-mic")
        browser.close()
    assert "story" in _words(finals[0]["text"]) and finals[0]["turn_id"] == story_turn
    assert "fellow americans" in _words(finals[1]["text"])  # what the user said over the reply
    assert stats["clears"] >= 1  # the page's player was flushed at once
    heard = interrupted["heard"].rstrip("…").split("…")[0]
    assert heard and STORY.startswith(heard[:20]) and len(heard) < len(STORY)  # only what was played
    assert "you heard" in chat


@pytest.fixture(scope="module")
def backchannel_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Piper's "Okay." over the story."""
    import soxr

    from realtime.tts.piper_voice import PiperTTS

    okay = asyncio.run(PiperTTS(sample_rate=22050).synthesize("Okay."))
    return mic_asking_for_a_story_then(tmp_path_factory, "backchannel.wav",
                                       soxr.resample(okay.audio.astype(np.float32) / 32768, 22050, 44100))


def test_okay_over_the_reply_holds_the_pages_player_and_it_goes_on(live: LiveApp, backchannel_wav: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_browser(p, backchannel_wav)
        page = open_page(browser, live)
        page.click(".va-mic")
        page.wait_for_function("window.assistant.stats.releases >= 1", timeout=90_000)
        at_release = page.evaluate("window.assistant.stats.playedSamples")
        page.wait_for_function("window.assistant.events.some((e) => e.type === 'turn_done')", timeout=90_000)
        stats = page.evaluate("window.assistant.stats")
        done = _events(page, "turn_done")[0]
        holds = [e["held"] for e in _events(page, "hold")]
        heard = [(e["type"], e.get("text")) for e in page.evaluate("window.assistant.events")
                 if e["type"] in ("partial_transcript", "final_transcript", "interrupted", "clear")]
        page.click(".va-mic")
        browser.close()
    # what the page was told, so a failure says whether "okay" was misheard as words that cut the story
    assert not done["interrupted"] and done["text"] == STORY, heard  # "okay" did not end the story
    assert holds[:2] == [True, False] and stats["holds"] >= 1, (holds, heard)
    assert stats["playedWhileHeld"] == 0  # the worklet's playhead stood still while held
    assert stats["playedSamples"] > at_release, (stats, at_release, heard)  # and went on from there
