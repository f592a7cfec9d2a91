"""`python launch.py bench --turns-only`: does the listener cut speakers off mid-thought, and how fast does it end
a finished question? Paused sentences (spoken by espeak-ng and by Piper, with 0.8-1.5 s of silence inserted where
people hesitate, plus jfk.flac) count false endpoints. Each is built two ways: two utterances spliced around the
silence (the voice ends the first part as a sentence of its own: the harder set), and one utterance with the pause
inside it (espeak-ng's SSML `<break>`, Piper's phoneme alignments), as a speaker who stops mid-sentence sounds.
Finished questions, in both voices, time end of speech -> decision -> final transcript. Real webrtcvad, Whisper
and the configured end-of-turn judge, fed at real-time pace like a microphone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
from pathlib import Path

import numpy as np

from app.bench_voices import Say, SayPaused, bench_voices, espeak_say, named_voices, paused_voices
from base.audio import LISTEN_RATE
from base.events import Event, FinalTranscript
from core.config import PROJECT_ROOT, Settings
from realtime.audio_in import feed
from realtime.end_of_turn import build_end_of_turn
from realtime.listener import Listener
from realtime.stt import SpeechToText, build_stt
from realtime.vad import build_vad

PAUSED = [  # (before the pause, after it, pause in seconds)
    ("I need to buy milk, eggs, and", "bread for the weekend.", 1.2),
    ("My favourite films are,", "the ones with a good ending.", 1.0),
    ("The thing I really want to know is", "whether the shop is open.", 1.3),
    ("And so my friends,", "we begin again tomorrow.", 1.2),
    ("Can you tell me about the", "history of the bridge?", 1.0),
    ("I was thinking that", "we could go to the beach.", 0.8),
    ("Please remind me to call my mother,", "and then my brother.", 1.5),
    ("The answer to the question is", "forty two.", 1.1),
    ("If it rains tomorrow", "we will stay at home.", 1.2),
    ("Set a timer for", "ten minutes please.", 1.0),
    ("What I would really like is", "a cup of tea.", 1.4),
]
# Two pauses in one sentence: the first where the words hold the turn, the second after a phrase that can read as
# a whole sentence ("a cup", "ten minutes", "the music"). Not tuned on: added with the judge as it was.
TWO_PAUSES = [
    ("The thing I really want to know is", "whether the shop", "is open on Sunday."),
    ("If it rains tomorrow", "we will stay", "at home with the kids."),
    ("What I would really like is", "a cup", "of hot tea."),
    ("The answer to the question is", "forty two", "or maybe forty three."),
    ("I was thinking that", "we could go", "to the beach tomorrow."),
    ("My favourite films are,", "the ones", "with a good ending."),
    ("Set a timer for", "ten minutes", "and then call my sister."),
    ("The problem is", "my car", "broke down again."),
    ("And so my friends,", "we begin", "again tomorrow morning."),
    ("I need to buy milk, eggs, and", "bread", "for the weekend."),
    ("What I want to know is", "how long", "the trip will take."),
    ("The best part was", "the music", "at the end of the night."),
]
TWO_PAUSES_S = 1.0
SPLICED, INSIDE = "spliced", "inside"  # how a paused clip was built (see the module docstring)
QUESTIONS = ["What time is it?", "Yes.", "Paris.", "What is the capital of France?", "Tell me a joke.",
             "How is the weather today?", "Turn off the lights.", "Who wrote Hamlet?", "No thanks.", "Sure."]


def _splits(rows: list[dict[str, object]]) -> int:
    """False endpoints: every turn a paused clip was cut into beyond its one."""
    return sum(max(0, int(str(r["turns"])) - 1) for r in rows)


def _rows(rows: list[dict[str, object]], built: str, pauses: int, voice: str | None = None) -> list[dict[str, object]]:
    """The paused clips built one way with that many pauses (of one voice, or all)."""
    return [r for r in rows if r["pause"] == built and r["pauses"] == pauses and voice in (None, r["voice"])]


def _spliced(say: Say, parts: list[str], pause_s: float) -> np.ndarray:
    """Each part spoken as an utterance of its own, `pause_s` of silence between them."""
    pieces = [say(parts[0])]
    for part in parts[1:]:
        pieces += [_silence(pause_s), say(part)]
    return np.concatenate(pieces)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * LISTEN_RATE), dtype=np.int16)


async def _listen(audio: np.ndarray, settings: Settings, stt: SpeechToText,
                  judge: object) -> tuple[list[Event], Listener]:
    events: list[Event] = []
    listener = Listener(build_vad(settings.vad), stt, settings.vad, settings.stt, events.append,
                        judge=judge, turn_cfg=settings.turn)  # type: ignore[arg-type]
    await feed(audio, listener.push)
    await listener.flush()
    await listener.aclose()
    return events, listener


async def run(settings: Settings, jfk: Path | None, voices: dict[str, Say],
              inside: dict[str, SayPaused] | None = None) -> dict[str, object]:
    stt, judge = build_stt(settings.stt), build_end_of_turn(settings.turn)
    paused: list[dict[str, object]] = []
    questions: list[dict[str, object]] = []
    sets = [([a, b], p) for a, b, p in PAUSED] + [(list(parts), TWO_PAUSES_S) for parts in TWO_PAUSES]
    clips = [(voice, SPLICED, parts, _spliced(say, parts, p)) for voice, say in voices.items() for parts, p in sets]
    clips += [(voice, INSIDE, parts, say_paused(parts, p))
              for voice, say_paused in (inside or {}).items() for parts, p in sets]
    if jfk is not None:
        from faster_whisper import decode_audio

        clips.append(("real", SPLICED, ["jfk.flac"], np.asarray(decode_audio(str(jfk)) * 32767, dtype=np.int16)))
    for voice, built, parts, audio in clips:
        events, listener = await _listen(np.concatenate([_silence(0.3), audio, _silence(2.5)]), settings, stt,
                                         judge)
        ends = [e for e in events if isinstance(e, FinalTranscript)]
        finals = [e.text for e in ends]
        m = listener.marks(ends[-1].turn_id) if ends else {}
        end_wait = round(m["endpoint"] - m["speech_end"], 3) if "endpoint" in m and "speech_end" in m else None
        paused.append({"voice": voice, "pause": built, "pauses": max(1, len(parts) - 1), "clip": " ... ".join(parts),
                       "turns": len(finals), "finals": finals, "end_wait": end_wait})
        print(f"  paused ({voice}, {built}): {len(finals)} turn(s), the real end waited {end_wait} s: {finals}",
              flush=True)
    for voice, say in voices.items():
        for text in QUESTIONS:
            events, listener = await _listen(np.concatenate([_silence(0.3), say(text), _silence(2.5)]),
                                             settings, stt, judge)
            final = next((e for e in events if isinstance(e, FinalTranscript)), None)
            m = listener.marks(final.turn_id) if final is not None else {}
            row: dict[str, object] = {k: round(m[k] - m["speech_end"], 3)
                                      for k in ("turn_offered", "turn_judged", "endpoint", "final") if k in m}
            questions.append({"voice": voice, "text": text, "heard": final.text if final else "", **row})
            print(f"  question ({voice}): {text!r} -> {row}", flush=True)
    return {"judge": settings.turn.detector if judge is not None else "off", "voices": list(voices),
            "paused": paused, "false_endpoints": _splits(_rows(paused, SPLICED, 1)),
            "false_endpoints_inside": _splits(_rows(paused, INSIDE, 1)),
            "false_endpoints_two_pauses": {b: _splits(_rows(paused, b, 2)) for b in (SPLICED, INSIDE)},
            "questions": questions}


def main(settings: Settings, argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="launch.py bench --turns-only", description="Turn-taking only.")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "data" / "bench", help="output folder")
    p.add_argument("--voices", help="comma-separated: espeak-ng, piper, or any espeak-ng voice such as en+f3 "
                                    "(default: espeak-ng,piper)")
    a = p.parse_args([x for x in argv if x != "--turns-only"])
    if shutil.which("espeak-ng") is None:
        print("bench --turns-only needs espeak-ng (apt-get install espeak-ng)")
        return 2
    jfk = PROJECT_ROOT.parent / "shared" / "audio" / "jfk.flac"
    try:
        voices = named_voices(a.voices.split(",")) if a.voices else bench_voices()
    except ValueError as exc:
        print(f"bench --turns-only --voices {a.voices}: {exc}")
        return 2
    inside = paused_voices(list(voices))
    print(f"voices: {', '.join(voices)}; a pause inside one utterance: {', '.join(inside) or 'none'}", flush=True)
    res = asyncio.run(run(settings, jfk if jfk.exists() else None, voices, inside))
    from app.bench_barge import run_barge_cases

    res["over_the_reply"] = rows = asyncio.run(run_barge_cases(settings, espeak_say))
    print(f"talking over the reply: {sum(bool(r['ok']) for r in rows)} of {len(rows)} cases right")
    qs = res["questions"]
    assert isinstance(qs, list)
    for voice in voices:
        for key in ("turn_offered", "turn_judged", "endpoint", "final"):
            vals = [q[key] for q in qs if key in q and q["voice"] == voice]
            if vals:
                print(f"{voice}: end of speech -> {key}: p50 {statistics.median(vals):.3f} s, max {max(vals):.3f} s")
    all_rows = res["paused"]
    assert isinstance(all_rows, list)
    for voice, built, n in [*((v, b, n) for n in (1, 2) for v in voices for b in (SPLICED, INSIDE)),
                            ("real", SPLICED, 1)]:
        rows_v = _rows(all_rows, built, n, voice)
        if not rows_v:
            continue
        print(f"false endpoints on {len(rows_v)} clips with {n} pause(s) ({voice}, {built}): {_splits(rows_v)}")
        waits = [float(str(r["end_wait"])) for r in rows_v if r.get("end_wait") is not None]
        if waits:  # the sentence after the pause is a finished statement: how long was it waited for?
            long = sum(w >= settings.turn.unfinished_silence_ms / 1000 - 0.05 for w in waits)
            print(f"  their real ends: waited p50 {statistics.median(waits):.3f} s; the "
                  f"{settings.turn.unfinished_silence_ms} ms limit {long} of {len(waits)}")
    folder = a.out if a.out.is_absolute() else Path.cwd() / a.out
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "turns.json"
    out.write_text(json.dumps(res, indent=1))
    print(f"written: {out}")
    return 0
