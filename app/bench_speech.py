"""`python launch.py bench --speech`: does each voice say the whole answer, correctly, and how fast?

A battery of replies full of what voices get wrong (numbers, money, times, abbreviations, lists, markdown,
URLs) goes through the real splitter, then each available voice twice: as before this check existed (the
displayed text straight to the voice, the voice's own silence kept) and as the app speaks now (the speech
normalizer, silence trimmed to `tts.phrase_gap_ms`). The project's Whisper (tiny.en, shipped offline) writes
down what it hears; the word error rate is measured against the words a listener should hear, after both
sides are put in one spoken form (Whisper writes "$4.99" where the voice said "four dollars ...").
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.bench_report import edit_distance
from base.audio import LISTEN_RATE, to_pcm16
from core.config import PROJECT_ROOT, Settings
from realtime.sentences import SentenceSplitter
from realtime.speech_text import to_spoken
from realtime.tts.base import Voice, sound_span

# (reply as a chat model writes it, the words a listener should hear)
BATTERY: list[tuple[str, str]] = [
    ("What is 6 times 7? 42. Easy one.", "what is six times seven forty two easy one"),
    ("Sure. 2024. That was the year we moved.", "sure twenty twenty four that was the year we moved"),
    ("It costs $4.99, so ~5 dollars with tax.",
     "it costs four dollars and ninety nine cents so about five dollars with tax"),
    ("The train leaves at 5:30 p.m. and arrives at 7:05.",
     "the train leaves at five thirty pm and arrives at seven oh five"),
    ("Dr. Smith and Mr. Jones met Mrs. Brown on Main St. today.",
     "doctor smith and mister jones met missus brown on main street today"),
    ("Take 3-5 tablets, i.e. about 2 a day, vs. 1 before.",
     "take three to five tablets that is about two a day versus one before"),
    ("3 * 4 = 12, and 10% of 50 is 5.", "three times four equals twelve and ten percent of fifty is five"),
    ("Here is the plan:\n1. Buy milk.\n2. Call Sgt. Pepper at ext. 4521.",
     "here is the plan buy milk call sergeant pepper at extension four thousand five hundred and twenty one"),
    ("**Great** job! See https://docs.python.org/3/ for details.",
     "great job see docs dot python dot org for details"),
    ("Climb Mt. Everest in May, when it is -5°C at the top.",
     "climb mount everest in may when it is minus five degrees celsius at the top"),
    ("She has a Ph.D. from a university in the U.S.A. and works there.",
     "she has a phd from a university in the usa and works there"),
    ("Add 2 tsp. of salt and bake for 20 min. at 350°F.",
     "add two teaspoons of salt and bake for twenty minutes at three hundred and fifty degrees fahrenheit"),
    ("## Summary\n- Open *daily* from 9 a.m.\n- Closed on the 1st and 15th.",
     "summary open daily from nine am closed on the first and fifteenth"),
]


@dataclass
class Run:
    voice: str
    mode: str  # "before": displayed text, voice's own silence; "after": normalized, trimmed
    wer: float
    first_audio_ms: float  # synthesis time of a reply's first phrase (median over the battery)
    gap_ms: float  # silence at a join between two phrases (median over every join)
    items: list[dict[str, Any]] = field(default_factory=list)


def spoken_form(text: str) -> list[str]:
    """Words in one canonical spoken form: numbers as words, no punctuation, spelled letters joined ("p h d")."""
    words = [w.strip("'") for w in re.sub(r"[^a-z0-9' ]+", " ", to_spoken(text).lower().replace("-", " ")).split()]
    out: list[str] = []
    spelling = False
    for w in filter(None, words):
        single = len(w) == 1 and w not in ("a", "i")
        if single and spelling:
            out[-1] += w
        else:
            out.append(w)
        spelling = single
    return out


def wer(reference: list[str], hypothesis: list[str]) -> float:
    """Word error rate of already-normalized word lists."""
    return edit_distance(reference, hypothesis) / max(1, len(reference))


def phrases_of(reply: str) -> list[str]:
    sp = SentenceSplitter()
    return sp.push(reply) + sp.flush()


def join_gaps(chunks: list[np.ndarray], rate: int) -> list[float]:
    """Silence (ms) at each join: the end of one phrase's sound to the start of the next one's."""
    spans = [(sound_span(c, rate), len(c)) for c in chunks]
    gaps = []
    for (a, n_a), (b, _) in itertools.pairwise(spans):
        if a is not None and b is not None:
            gaps.append((n_a - a[1] + b[0]) * 1000 / rate)
    return gaps


async def run_voice(voice: Voice, stt: Any, mode: str, gap_ms: float) -> Run:
    voice.gap_ms = gap_ms if mode == "after" else None
    items, firsts, gaps, errors, ref_words = [], [], [], 0.0, 0
    for reply, expected in BATTERY:
        chunks, said = [], []
        for k, phrase in enumerate(phrases_of(reply)):
            text = (to_spoken(phrase) or phrase) if mode == "after" else phrase
            t0 = time.perf_counter()
            speech = await voice.synthesize(text)
            if k == 0:
                firsts.append((time.perf_counter() - t0) * 1000)
            chunks.append(speech.audio)
            said.append(text)
        gaps += join_gaps(chunks, voice.sample_rate)
        audio = to_pcm16(np.concatenate(chunks), voice.sample_rate, LISTEN_RATE).astype(np.float32) / 32768
        heard = await asyncio.to_thread(stt.transcribe, audio, final=True)
        ref, hyp = spoken_form(expected), spoken_form(heard)
        item_wer = wer(ref, hyp)
        errors += item_wer * len(ref)
        ref_words += len(ref)
        items.append({"reply": reply, "said": said, "heard": heard, "wer": round(item_wer, 3)})
    return Run(voice.name, mode, round(errors / max(1, ref_words), 4), round(statistics.median(firsts), 1),
               round(statistics.median(gaps), 1) if gaps else 0.0, items)


def render_markdown(runs: list[Run]) -> str:
    by_voice: dict[str, dict[str, Run]] = {}
    for r in runs:
        by_voice.setdefault(r.voice, {})[r.mode] = r
    lines = [f"Speech quality: {len(BATTERY)} replies through the splitter, each voice, Whisper tiny.en back.", "",
             "| voice | WER before | WER now | first audio (ms) | gap at joins before (ms) | gap now (ms) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, modes in by_voice.items():
        b, a = modes.get("before"), modes.get("after")
        lines.append(f"| {name} | {_pct(b)} | {_pct(a)} | {a.first_audio_ms if a else '-'} | "
                     f"{b.gap_ms if b else '-'} | {a.gap_ms if a else '-'} |")
    lines += ["", "WER before: the displayed text straight to the voice; now: the speech normalizer first. "
              "First audio: synthesis time of a reply's first phrase (median). Gap: silence where two phrases "
              "meet (median)."]
    worst = sorted((it["wer"], r.voice, it["heard"]) for r in runs if r.mode == "after" for it in r.items)[-3:]
    if worst and worst[-1][0] > 0:
        lines += ["", "Hardest replies now (WER, voice, what Whisper heard):", ""]
        lines += [f"- {w:.2f} {v}: {h}" for w, v, h in reversed(worst) if w > 0]
    return "\n".join(lines) + "\n"


def _pct(r: Run | None) -> str:
    return f"{r.wer * 100:.1f} %" if r else "-"


async def run(settings: Settings, voices: list[str]) -> list[Run]:
    from realtime.stt import build_stt
    from realtime.tts import build_voice

    stt = await asyncio.to_thread(build_stt, settings.stt)
    runs: list[Run] = []
    for name in voices:
        voice = build_voice(name, settings.tts)
        status = await voice.probe()
        if not status.ok or not isinstance(voice, Voice):
            print(f"bench --speech: skipping {name}: {status.detail} ({status.fix})")
            continue
        try:
            await voice.synthesize("Warm up.")  # loading the model is not what the figures are about
            for mode in ("before", "after"):
                runs.append(await run_voice(voice, stt, mode, settings.tts.phrase_gap_ms))
                print(f"  {name} {mode}: WER {runs[-1].wer:.3f}", flush=True)
        finally:
            await voice.aclose()
    return runs


def main(settings: Settings, argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="launch.py bench --speech", description="Speech quality of each voice.")
    p.add_argument("--voices", default="hibari,piper,pyttsx3",
                   help="comma-separated voices (default: the offline ones)")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "data" / "bench", help="output folder")
    a = p.parse_args([x for x in argv if x != "--speech"])
    names = [v.strip() for v in a.voices.split(",") if v.strip()]
    allowed = {"edge", "coqui", "hibari", "piper", "pyttsx3"}
    if not names or set(names) - allowed:
        p.error(f"--voices {a.voices}: give voices from {', '.join(sorted(allowed))}")
    runs = asyncio.run(run(settings, names))
    if not runs:
        print("bench --speech: no voice could speak here (see `python launch.py check`)")
        return 2
    out = a.out if a.out.is_absolute() else Path.cwd() / a.out
    out.mkdir(parents=True, exist_ok=True)
    md = render_markdown(runs)
    (out / "speech.json").write_text(json.dumps([asdict(r) for r in runs], indent=1, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    (out / "speech.md").write_text(md, encoding="utf-8")
    print(md)
    print(f"written: {out / 'speech.json'}, {out / 'speech.md'}")
    return 0
