"""The streaming listener with the real webrtcvad on real speech and a scripted (fake) speech-to-text."""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio

from base.events import (
    ErrorCode,
    ErrorEvent,
    Event,
    FinalTranscript,
    PartialTranscript,
    SpeechEnded,
    SpeechStarted,
)
from core.config import SttConfig, VadConfig
from realtime.agreement import LocalAgreement
from realtime.listener import Listener
from realtime.vad import build_vad
from tests.transcripts import JFK_TEXT

SR = 16000
# JFK pauses for about 1.1 s twice; with the default 700 ms endpoint that is three turns, so tests that want
# the whole sentence as one turn allow 1.5 s of silence.
ONE_TURN = VadConfig(silence_ms=1500)
JFK_WORDS = ("And so my fellow Americans, ask not what your country can do for you, "
             "ask what you can do for your country.")


class ScriptedSTT:
    """Fake decoder: returns as many words of the script as the audio could hold (2.5 words a second)."""

    def __init__(self, script: str = JFK_WORDS, fail: bool = False) -> None:
        self.words = script.split()
        self.fail = fail
        self.calls: list[tuple[np.ndarray, bool]] = []
        self.lock = threading.Lock()
        self.busy = 0
        self.max_busy = 0

    def transcribe(self, audio: np.ndarray, *, final: bool = False) -> str:
        with self.lock:
            self.busy += 1
            self.max_busy = max(self.max_busy, self.busy)
        try:
            self.calls.append((audio, final))
            if self.fail:
                raise RuntimeError("decoder exploded")
            return " ".join(self.words[: int(len(audio) / SR * 2.5)])
        finally:
            with self.lock:
                self.busy -= 1


def pcm16(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, -1, 1) * 32767).astype(np.int16)


@pytest.fixture(scope="module")
def jfk(jfk_path: Path) -> np.ndarray:
    return pcm16(decode_audio(str(jfk_path)))


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.int16)


async def run(audio: np.ndarray, stt: ScriptedSTT | None = None, vad_cfg: VadConfig | None = None,
              stt_cfg: SttConfig | None = None, *, internal: bool = False) -> tuple[list[Event], Listener, ScriptedSTT]:
    """Feed audio in 30 ms pushes, much faster than real time, then flush. Internal events (the preemptive
    `turn_candidate` / `speech_resumed`) are kept only with `internal=True`."""
    stt = stt or ScriptedSTT()
    vad_cfg = vad_cfg or VadConfig()
    events: list[Event] = []

    def keep(ev: Event) -> None:
        if internal or ev.wire:
            events.append(ev)

    listener = Listener(build_vad(vad_cfg), stt, vad_cfg, stt_cfg or SttConfig(), keep)
    for pos in range(0, len(audio), 480):
        listener.push(audio[pos:pos + 480])
        await asyncio.sleep(0.001)
    await listener.flush()
    await listener.aclose()
    return events, listener, stt


def of(events: list[Event], kind: type[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


async def test_one_turn_on_jfk_partials_before_final(jfk: np.ndarray) -> None:
    events, listener, stt = await run(np.concatenate([silence(1.0), jfk, silence(2.0)]), vad_cfg=ONE_TURN)
    types = [e.type for e in events]
    assert types[0] == "speech_started" and types.count("speech_started") == 1
    assert types.count("speech_ended") == 1 and types.count("final_transcript") == 1
    finals = of(events, FinalTranscript)
    assert finals[0].text == JFK_WORDS  # type: ignore[attr-defined]
    partials = of(events, PartialTranscript)
    assert len(partials) >= 3  # every 500 ms of audio (fewer when busy), although fed faster than real time
    assert types.index("partial_transcript") < types.index("speech_ended") < types.index("final_transcript")
    assert len({e.turn_id for e in events}) == 1
    assert stt.max_busy == 1  # never two decodes at once
    marks = listener.marks(events[0].turn_id)
    assert marks["speech_start"] <= marks["first_partial"] <= marks["final"]
    # SpeechStarted is dated back to the onset: at least vad.min_speech_ms of audio before it was sent
    assert events[0].t == marks["speech_start"] <= marks["speech_detected"] - 0.149
    assert marks["speech_end"] <= marks["endpoint"] <= marks["final"]


async def test_first_syllable_kept_by_preroll(jfk: np.ndarray) -> None:
    events, _, stt = await run(np.concatenate([silence(1.0), jfk, silence(2.0)]), vad_cfg=ONE_TURN)
    final_audio = next(a for a, final in reversed(stt.calls) if final)
    lead = int(np.argmax(np.abs(final_audio) > 0))  # silence before the recording's first sample
    assert 0 < lead <= 0.3 * SR  # the preroll reaches back into the silence: nothing of the speech is cut
    first = np.flatnonzero(jfk)[0]
    heard = pcm16(final_audio[lead:lead + SR])
    assert np.abs(heard.astype(int) - jfk[first:first + SR]).max() <= 1
    ended = of(events, SpeechEnded)[0]
    assert 10.0 <= ended.duration_s <= 11.5  # type: ignore[attr-defined]


async def test_click_shorter_than_min_speech_opens_no_turn(jfk: np.ndarray) -> None:
    click = jfk[int(0.5 * SR):int(0.5 * SR) + 960]  # 60 ms of loud speech
    audio = np.concatenate([silence(1.0), click, silence(2.0)])
    events, _, _ = await run(audio)
    assert events == []
    events, _, _ = await run(audio, vad_cfg=VadConfig(min_speech_ms=30))
    assert [e.type for e in events][:2] == ["speech_started", "speech_ended"]


async def test_candidate_before_the_endpoint_and_resumed_when_the_speaker_goes_on(jfk: np.ndarray) -> None:
    """JFK's first pause is longer than vad.preemptive_ms but shorter than 1.5 s: a candidate is offered in the
    pause, then withdrawn (speech_resumed) when he goes on; the one final comes after the real end."""
    cfg = VadConfig(silence_ms=1500, preemptive_ms=200)
    events, _, _ = await run(np.concatenate([jfk, silence(2.0)]), vad_cfg=cfg, internal=True)
    types = [e.type for e in events]
    assert "turn_candidate" in types and "speech_resumed" in types
    assert types.index("turn_candidate") < types.index("speech_resumed") < types.index("final_transcript")
    assert types.count("final_transcript") == 1 and len({e.turn_id for e in events}) == 1
    events, _, _ = await run(np.concatenate([jfk, silence(2.0)]), vad_cfg=VadConfig(silence_ms=1500,
                                                                                     preemptive_ms=0),
                             internal=True)
    assert not {"turn_candidate", "speech_resumed"} & {e.type for e in events}  # off when preemption is off


async def test_silence_and_steady_noise_give_no_final(jfk: np.ndarray) -> None:
    events, _, _ = await run(silence(5.0))
    assert events == []
    noise = pcm16(np.random.default_rng(1).standard_normal(8 * SR) * 0.1)
    events, _, stt = await run(noise)
    assert of(events, FinalTranscript) == [] and of(events, SpeechStarted) == []
    assert stt.calls == []
    # control: three seconds of speech on the same silence and on the same noise do give one turn each
    for background in (silence(8.0), noise):
        mixed = background.astype(np.int32)
        mixed[2 * SR:5 * SR] += jfk[: 3 * SR]
        events, _, stt = await run(np.clip(mixed, -32768, 32767).astype(np.int16))
        assert len(of(events, SpeechStarted)) == 1 and len(of(events, FinalTranscript)) == 1
        assert stt.calls


async def test_empty_final_means_no_final_transcript(jfk: np.ndarray) -> None:
    audio = np.concatenate([jfk, silence(2.0)])
    events, _, _ = await run(audio, stt=ScriptedSTT(script=""), vad_cfg=ONE_TURN)
    assert [e.type for e in events] == ["speech_started", "speech_ended"]
    # control: the same audio with a decoder that hears words gives the final
    events, _, _ = await run(audio, vad_cfg=ONE_TURN)
    assert len(of(events, FinalTranscript)) == 1


async def test_two_utterances_two_finals_in_order(jfk: np.ndarray) -> None:
    part = jfk[: 3 * SR]
    events, _, _ = await run(np.concatenate([part, silence(1.5), part, silence(1.5)]))
    finals = of(events, FinalTranscript)
    starts = of(events, SpeechStarted)
    assert len(finals) == 2 and len(starts) == 2
    assert [f.turn_id for f in finals] == [s.turn_id for s in starts]
    assert finals[0].turn_id != finals[1].turn_id and finals[0].id != finals[1].id  # type: ignore[attr-defined]


async def test_long_utterance_is_cut_with_max_duration_and_listening_goes_on(jfk: np.ndarray) -> None:
    long = np.concatenate([jfk, jfk, jfk, jfk])  # 44 s of speech with short pauses only
    events, _, stt = await run(np.concatenate([long, silence(2.0)]), vad_cfg=ONE_TURN)
    errors = of(events, ErrorEvent)
    assert len(errors) == 1 and errors[0].code == ErrorCode.MAX_DURATION_EXCEEDED  # type: ignore[attr-defined]
    assert errors[0].recoverable  # type: ignore[attr-defined]
    finals = of(events, FinalTranscript)
    assert len(finals) == 2 and finals[0].turn_id == errors[0].turn_id
    assert len(of(events, SpeechStarted)) == 2
    assert max(len(a) for a, _ in stt.calls) <= 30 * SR  # never more than Whisper's window


async def test_decoder_failure_is_reported_and_listening_continues(jfk: np.ndarray) -> None:
    stt = ScriptedSTT(fail=True)
    events, _, _ = await run(np.concatenate([jfk[: 3 * SR], silence(1.5)]), stt=stt)
    codes = [e.code for e in of(events, ErrorEvent)]  # type: ignore[attr-defined]
    assert ErrorCode.STT_FAIL in codes and of(events, FinalTranscript) == []
    stt.fail = False
    events, _, _ = await run(np.concatenate([jfk[: 3 * SR], silence(1.5)]), stt=stt)
    assert len(of(events, FinalTranscript)) == 1


async def test_muted_listener_ignores_audio(jfk: np.ndarray) -> None:
    events: list[Event] = []
    cfg = VadConfig()
    listener = Listener(build_vad(cfg), ScriptedSTT(), cfg, SttConfig(), events.append)
    listener.mute()
    listener.push(jfk)
    await listener.flush()
    assert events == [] and not listener.in_speech
    listener.unmute()
    listener.push(np.concatenate([jfk[: 2 * SR], silence(1.0)]))
    await listener.flush()
    await listener.aclose()
    assert len(of(events, FinalTranscript)) == 1


def test_local_agreement_keeps_agreed_words() -> None:
    la = LocalAgreement()
    assert la.update("And so...") == "And so..."
    assert la.update("And so my fellow American") == "And so my fellow American"
    assert la.committed == ["And", "so"]
    # a hypothesis that only drops words from the end does not shrink the text
    assert la.update("And so my") == "And so my fellow American"
    # one that contradicts an agreed word is not shown
    assert la.update("And sew my fellow Americans ask") == "And so my fellow American"
    assert la.update("And so my fellow Americans ask not") == "And so my fellow Americans ask not"
    assert la.update("And so my fellow Americans ask not what") == "And so my fellow Americans ask not what"
    assert la.committed == ["And", "so", "my", "fellow", "Americans", "ask", "not"]
    assert la.update("And so my dear Americans") == "And so my fellow Americans ask not what"
    # two in a row that agree on another word: the model really changed its mind; the words it has not
    # reached again stay on screen until it does
    assert la.update("And so my dear Americans ask") == "And so my dear Americans ask not what"
    assert la.committed == ["And", "so", "my", "dear", "Americans"]
    assert la.update("And so my dear Americans ask not what your") == "And so my dear Americans ask not what your"


def test_a_changed_mind_or_a_shorter_tail_never_shrinks_the_text() -> None:
    la = LocalAgreement()
    la.update("And so my")
    assert la.update("And so my fellow Americans ask not what") == "And so my fellow Americans ask not what"
    # a shorter hypothesis whose unagreed tail differs: the new word takes its place, the rest stays
    assert la.update("And so my fellow Americanos") == "And so my fellow Americanos ask not what"
    la.update("And so my fellow Americans ask not what")
    # the model hears "am I" for "my", twice: the old text goes on after the words both share
    la.update("And so am I fellow Americans")
    assert la.update("And so am I fellow Americans") == "And so am I fellow Americans ask not what"
    assert la.committed[:4] == ["And", "so", "am", "I"]


def test_shown_partials_never_shrink_whatever_the_hypotheses() -> None:
    rng = random.Random(7)
    truth = JFK_TEXT.split()
    for _ in range(300):
        la, shown = LocalAgreement(), 0
        for end in range(2, len(truth) + 1, rng.choice([1, 2, 3])):
            hyp = truth[: max(1, end - rng.choice([0, 0, 1, 2]))]  # Whisper drops the last words now and then
            if rng.random() < 0.3:  # and mishears one
                i = rng.randrange(len(hyp))
                hyp = [*hyp[:i], rng.choice(["my", "dear", "am", "I", "that", "the"]), *hyp[i + 1:]]
            text = la.update(" ".join(hyp))
            assert len(text.split()) >= shown, (text, hyp)
            assert text.split()[: len(la.committed)] == la.committed
            shown = len(text.split())
