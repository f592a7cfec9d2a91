"""False interruptions: a cough, a noise or "okay" over the reply pauses it and lets it go on; words still cut it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.bench_voices import espeak_say
from app.ollama_sim import OllamaSim, Reply, Rule
from base.events import Event, TurnDone
from core.assistant import Assistant
from core.config import load_settings
from core.llm import OllamaChat
from realtime.audio_in import feed
from realtime.barge_in import interrupts, is_backchannel
from realtime.engines import Engines
from realtime.paced_output import PacedOutput
from realtime.voice_agent import VoiceAgent
from tests.fakes import FixedSTT, ListHistory, ToneTTS
from tests.waiting import wait_for

THREE = "The sky is blue because of Rayleigh scattering. Sunsets look red for the same reason. Isn't that neat?"


class PartialsHear(FixedSTT):
    """Partials (decoded from the first fraction of a second) hear `partial`; the final hears `text`."""

    def __init__(self, partial: str, text: str) -> None:
        super().__init__(text)
        self.partial = partial
        self.partials = 0

    def transcribe(self, audio: Any, *, final: bool = False) -> str:
        self.calls += 1
        self.partials += not final
        return self.text if final else self.partial


def make_agent(url: str, heard: str | FixedSTT, **overrides: Any
               ) -> tuple[VoiceAgent, ListHistory, list[Event], PacedOutput]:
    s = load_settings(**overrides)
    s.ollama.host = url
    history = ListHistory()
    assistant = Assistant(s, OllamaChat(s.ollama), history)
    stt = FixedSTT(heard) if isinstance(heard, str) else heard
    engines = Engines(s, stt, ToneTTS(), assistant, history)  # type: ignore[arg-type]
    out = PacedOutput(22050)
    agent = VoiceAgent(engines, out)
    events: list[Event] = []
    agent.subscribe(events.append)
    return agent, history, events, out


async def talk_over(heard: str | FixedSTT, speech: np.ndarray, **overrides: Any
                    ) -> tuple[list[Event], ListHistory, list[bool], list[int]]:
    """Ask, then push `speech` (the recognizer hears `heard`) over the reply in real time; watch the output."""
    with OllamaSim([Rule("sky", [Reply(THREE)])], first_token_s=0.05, tokens_per_s=40) as sim:
        agent, history, events, out = make_agent(sim.url, heard, **overrides)
        await agent.submit_text("why is the sky blue?")
        await wait_for(lambda: agent.state == "speaking", 15.0, "the reply started")
        paused: list[bool] = []
        played: list[int] = []
        audio = np.concatenate([speech, np.zeros(16000 * 3, dtype=np.int16)])
        def push(frame: np.ndarray) -> None:
            agent.push_audio(frame)
            paused.append(agent.barge_in.paused)
            played.append(out.played_samples())

        await feed(audio, push)
        await agent.wait_idle()
        await agent.aclose()
    return events, history, paused, played


def trimmed(pcm: np.ndarray) -> np.ndarray:
    """Without espeak's leading and trailing silence, so a gap put between two clips is the gap heard."""
    loud = np.flatnonzero(np.abs(pcm) > 500)
    return pcm[loud[0]: loud[-1] + 1]


def held_then_went_on(paused: list[bool], played: list[int]) -> bool:
    """The output stood still while paused, and played on after the pause."""
    first = paused.index(True)
    last = len(paused) - 1 - paused[::-1].index(True)
    return played[last] - played[first] < 22050 * 0.1 and played[-1] > played[last]


@pytest.mark.parametrize("heard", ["Okay.", "Mhm.", "(coughs)", ""])
async def test_a_backchannel_or_a_noise_pauses_the_reply_which_then_goes_on(heard: str) -> None:
    events, history, paused, played = await talk_over(heard, espeak_say("okay"))
    assert any(paused), "control: the speech was long enough to pause the reply"
    assert held_then_went_on(paused, played)
    assert "interrupted" not in [e.type for e in events]
    done = [e for e in events if isinstance(e, TurnDone)]
    assert len(done) == 1 and not done[0].interrupted and done[0].text == THREE
    assert [r["role"] for r in history.rows] == ["user", "assistant"]  # "okay" started no turn of its own


async def test_a_cough_like_burst_does_not_end_the_reply() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(int(0.45 * 16000)) / 16000
    burst = (rng.normal(0, 1, len(t)) * np.exp(-t * 6) * 9000).astype(np.int16)
    events, history, paused, played = await talk_over("", burst)
    assert "interrupted" not in [e.type for e in events]
    if any(paused):  # webrtcvad may or may not take the burst for speech: if it paused, it resumed
        assert held_then_went_on(paused, played)
    assert [r["role"] for r in history.rows] == ["user", "assistant"]


async def test_words_over_the_reply_still_cut_it_and_keep_what_was_heard() -> None:
    events, history, paused, _ = await talk_over("Wait, stop, tell me about sunsets.", espeak_say(
        "wait stop tell me about sunsets"))
    assert any(paused) and "interrupted" in [e.type for e in events]
    row = next(r for r in history.rows if r["role"] == "assistant")
    assert row["interrupted"] is True and len(row["heard"].rstrip("…")) < len(THREE)
    assert [r["role"] for r in history.rows][:3] == ["user", "assistant", "user"]  # the words became a turn


@pytest.mark.parametrize("partial", ["Sorry.", "That is."])
async def test_a_short_partial_that_misheard_a_backchannel_does_not_cut_the_reply(partial: str) -> None:
    """Decoded from its first 0.3 s, Piper's "got it" came out "Sorry." (a command) or "That is." (two words) and
    cut the reply, though the final heard "Got it.": one or two words of a partial need the next transcript."""
    stt = PartialsHear(partial, "Got it.")
    events, history, paused, played = await talk_over(stt, espeak_say("got it, thanks"))
    assert any(paused) and stt.partials, "control: the speech was long enough to pause the reply and be decoded"
    assert "interrupted" not in [e.type for e in events]
    assert held_then_went_on(paused, played)
    done = [e for e in events if isinstance(e, TurnDone)]
    assert len(done) == 1 and not done[0].interrupted and done[0].text == THREE
    assert [r["role"] for r in history.rows] == ["user", "assistant"]


async def test_a_short_partial_command_cuts_when_the_final_is_no_backchannel_either() -> None:
    """Piper's "stop" over the reply: the partial heard "Stop.", the final (primed for backchannels) "Star."."""
    stt = PartialsHear("Stop.", "Star.")
    events, history, _, _ = await talk_over(stt, espeak_say("please stop"))
    assert stt.partials, "control: long enough for a partial"
    assert "interrupted" in [e.type for e in events]
    assert next(r for r in history.rows if r["role"] == "assistant")["interrupted"] is True


async def test_a_lone_command_still_cuts_once_the_next_transcript_says_it_too() -> None:
    """"Stop." in the first partial and again in the final: the reply is held from the first sound, not let go on
    while the final is awaited, and then cut."""
    events, history, paused, played = await talk_over("Stop.", espeak_say("stop"))
    assert "interrupted" in [e.type for e in events]
    first = paused.index(True)
    cut = len(paused) - 1 - paused[::-1].index(True)
    assert played[cut] - played[first] < 22050 * 0.1, "held until the cut, never resumed in between"
    assert next(r for r in history.rows if r["role"] == "assistant")["interrupted"] is True


async def test_sound_that_comes_back_in_the_same_utterance_is_weighed_again() -> None:
    """A lone "Because," resumes the reply, but its utterance stays open (a long endpoint): when
    sound comes back in it and goes on, the reply is held and cut. Open speakers feeding the reply back into
    the microphone make one such utterance that never ends; before, it was never weighed again."""
    word, more = (trimmed(espeak_say(text)) for text in (
        "because", "I would rather hear about the planet Mars and all of its moons"))
    gap = np.zeros(int(16000 * 1.6), dtype=np.int16)  # past the release (1.5 s held), short of the 2 s end
    assert len(more) > 16000 * 2.2
    events, history, paused, _ = await talk_over(
        "Because,", np.concatenate([word, gap, more]),
        vad={"silence_ms": 2000})  # as an unfinished turn's wait would
    types = [e.type for e in events]
    assert "interrupted" in types, types
    first_pause = paused.index(True)
    released = paused.index(False, first_pause)
    assert True in paused[released:], "held again when the sound came back"
    cut = next(i for i, e in enumerate(events) if e.type == "interrupted")
    assert "final_transcript" not in types[:cut], "cut while the sound went on, not after the utterance ended"
    assert next(r for r in history.rows if r["role"] == "assistant")["interrupted"] is True


def test_backchannel_words() -> None:
    for text in ["mhm", "Mhm.", "Mm-hmm.", "Okay.", "Uh-huh, right.", "Yeah, yeah.", "(coughs)", "[BLANK_AUDIO]", "",
                 "I see."]:
        assert is_backchannel(text), text
    for text in ["Wait.", "Stop.", "No, that's wrong.", "Okay, but what about Mars?", "Tell me more."]:
        assert not is_backchannel(text), text


def test_one_word_cuts_only_if_it_is_a_command() -> None:
    for text in ["Wait.", "Stop!", "No.", "Hold on.", "Tell me more.", "No, that's wrong.", "Okay, but Mars?"]:
        assert interrupts(text), text
    for text in ["Momentum.", "Boom.", "mhm", "Okay.", "(coughs)", "", "Uh-huh, right."]:
        assert not interrupts(text), text
    assert interrupts("Momentum.", min_words=1) and not interrupts("Okay.", min_words=1)


def test_paced_output_pause_holds_the_playhead_and_resume_goes_on_from_it() -> None:
    now = [0.0]
    out = PacedOutput(1000, clock=lambda: now[0])
    out.enqueue(np.zeros(2000, dtype=np.int16), 0)  # two seconds
    now[0] = 0.5
    out.pause()
    now[0] = 1.5
    assert out.played_samples() == 500  # nothing more is heard while paused
    out.resume()
    now[0] = 2.0
    assert out.played_samples() == 1000  # on from where it stopped, not from where the clock is
    now[0] = 3.0
    assert out.played_samples() == 2000
    out.pause()
    out.clear()  # a cut reply: the next one plays at once
    out.enqueue(np.zeros(100, dtype=np.int16), 1)
    now[0] = 3.05
    assert out.played_samples() == 50
