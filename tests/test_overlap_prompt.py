"""Speech over a reply is decoded primed with backchannels: a hum is written as one, words stay words.

Unprimed, tiny.en wrote espeak-ng's "mm hmm" as "And then then" or "I'm anthem." (two words: the reply was cut),
and with the pause prompt a cough became "I'm, uh...". The real-Whisper cases here are the ones that failed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.bench_barge import cough
from app.bench_voices import espeak_say
from app.ollama_sim import OllamaSim, Reply, Rule
from base.events import Event, TurnDone
from core.assistant import Assistant
from core.config import SttConfig, load_settings
from core.llm import OllamaChat
from realtime.audio_in import feed
from realtime.barge_in import interrupts, is_backchannel
from realtime.engines import Engines
from realtime.paced_output import PacedOutput
from realtime.stt import OVERLAP_PROMPT, WhisperSTT
from realtime.voice_agent import VoiceAgent
from tests.fakes import ListHistory, ToneTTS
from tests.waiting import wait_for

REPLY = "The sky is blue because of Rayleigh scattering. Sunsets look red for the same reason. Isn't that neat?"


class RecordingStt:
    """Hears "okay" while a reply plays and "what about the moon" otherwise; records each decode's prompt."""

    def __init__(self) -> None:
        self.decodes: list[tuple[bool, str | None]] = []

    def transcribe(self, audio: Any, *, final: bool = False, prompt: str | None = None) -> str:
        self.decodes.append((final, prompt))
        return "Okay." if prompt == OVERLAP_PROMPT else "What about the moon?"


async def test_speech_over_a_reply_is_primed_for_backchannels_and_a_new_question_is_not() -> None:
    s = load_settings()
    stt = RecordingStt()
    with OllamaSim([Rule("sky", [Reply(REPLY)]), Rule("moon", [Reply("The moon is far.")])],
                   first_token_s=0.05, tokens_per_s=40) as sim:
        s.ollama.host = sim.url
        history = ListHistory()
        engines = Engines(s, stt, ToneTTS(), Assistant(s, OllamaChat(s.ollama), history), history)  # type: ignore[arg-type]
        agent = VoiceAgent(engines, PacedOutput(22050))
        events: list[Event] = []
        agent.subscribe(events.append)
        await agent.submit_text("why is the sky blue?")
        await wait_for(lambda: agent.state == "speaking", 15.0, "the reply started")
        await feed(np.concatenate([espeak_say("okay"), np.zeros(16000 * 3, dtype=np.int16)]), agent.push_audio)
        over_reply = list(stt.decodes)
        await agent.wait_idle()
        stt.decodes.clear()
        await feed(np.concatenate([espeak_say("what about the moon"), np.zeros(16000 * 2, dtype=np.int16)]),
                   agent.push_audio)
        await wait_for(lambda: sum(isinstance(e, TurnDone) for e in events) == 2, 15.0, "the moon was answered")
        await agent.aclose()
    assert over_reply and all(p == OVERLAP_PROMPT for _, p in over_reply), over_reply
    assert any(final for final, _ in over_reply), "control: the overlap was decoded to its end"
    assert stt.decodes and all(p != OVERLAP_PROMPT for _, p in stt.decodes), stt.decodes
    done = [e for e in events if isinstance(e, TurnDone)]
    assert not done[0].interrupted and done[0].text == REPLY  # the "okay" let the reply go on


@pytest.fixture(scope="module")
def whisper() -> WhisperSTT:
    return WhisperSTT(SttConfig())


def padded(pcm: np.ndarray) -> np.ndarray:
    audio = pcm.astype(np.float32) / 32768 if pcm.dtype == np.int16 else pcm
    return np.concatenate([np.zeros(4800, np.float32), audio, np.zeros(4800, np.float32)])


# (words, espeak-ng voice): each of these was heard as words without the prompt, and cut the reply
HUMS = [("mm hmm", "en-gb+m3"), ("mm hmm", "en+f4"), ("mhm", "en+f4"), ("mhm", "en-gb+m3"), ("hmm", None),
        ("uh huh", "en+f3")]


@pytest.mark.parametrize("final", [False, True], ids=["partial", "final"])
def test_hums_and_a_cough_over_a_reply_are_written_as_backchannels(whisper: WhisperSTT, final: bool) -> None:
    heard = {f"{text} ({voice})": whisper.transcribe(padded(espeak_say(text, voice)), final=final,
                                                     prompt=OVERLAP_PROMPT) for text, voice in HUMS}
    heard["cough"] = whisper.transcribe(padded(cough()), final=final, prompt=OVERLAP_PROMPT)
    assert all(is_backchannel(text) for text in heard.values()), heard


def test_real_words_over_a_reply_stay_words(whisper: WhisperSTT, jfk_audio: np.ndarray) -> None:
    """Kennedy's "Ask not" and the end of his sentence (a real voice), and espeak-ng's interruptions."""
    clips = {f"jfk {lo}-{hi} s": jfk_audio[int(lo * 16000):int(hi * 16000)] for lo, hi in ((2.9, 4.7), (8.0, 10.7))}
    for text, voice in (("wait, stop, tell me about the moon", "en-gb+m3"), ("can you repeat that", "en+f3"),
                        ("that's wrong", "en-us"), ("next one", "en+f3")):
        clips[f"{text} ({voice})"] = espeak_say(text, voice)
    heard = {name: whisper.transcribe(padded(pcm), final=True, prompt=OVERLAP_PROMPT) for name, pcm in clips.items()}
    assert all(interrupts(text) for text in heard.values()), heard
    assert "ask not" in heard["jfk 2.9-4.7 s"].lower()
