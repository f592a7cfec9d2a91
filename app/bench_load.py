"""`python launch.py bench --sessions N`: N people talking to one assistant at once.

Each session is its own VoiceAgent over the one set of loaded models (as N browser tabs or `/ws` clients
would be), fed a different spoken question in real time, 30 ms frame by frame, all at the same moment. It
reports voice-to-voice p50/p95 under that load and checks that no session hears another's words or answer:
the scripted model echoes each user's words, so a reply that names another session's question is cross-talk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from app import bench_report as report
from app.bench import bench_settings
from app.bench_clips import QUESTIONS, SHARED_AUDIO, Clip, espeak_clips, folder_clips
from app.ollama_sim import OllamaSim, Reply
from base.events import Event, FinalTranscript, Latency, LlmToken
from core.config import Settings
from realtime.engines import Engines

ECHO = Reply("You asked: {user}. Here is a short answer for you.")
MORE_QUESTIONS = [  # beside the latency bench's five, so eight sessions ask eight different things
    "Which houseplants survive in a dark bathroom without a window?",
    "How long should I boil an egg if I want the yolk still soft?",
    "What is a good name for a grey kitten that likes to climb curtains?",
]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 3}


async def one_session(engines: Engines, clip: Clip, start: asyncio.Event) -> dict[str, Any]:
    """Play one clip into its own agent once every session is ready; what it heard and answered."""
    from realtime.audio_in import FileSource
    from realtime.paced_output import PacedOutput
    from realtime.voice_agent import VoiceAgent

    events: list[Event] = []
    agent = VoiceAgent(engines, PacedOutput(engines.settings.tts.sample_rate))
    agent.subscribe(events.append)
    source = FileSource(clip.path, speed=1.0, tail_silence_s=engines.settings.vad.silence_ms / 1000 + 1.0)
    await start.wait()
    try:
        await source.run(agent.push_audio)
        await asyncio.wait_for(agent.end_of_input(), 180)
    finally:
        await agent.aclose()
    heard = " ".join(e.text for e in events if isinstance(e, FinalTranscript))
    answer = "".join(e.text for e in events if isinstance(e, LlmToken))
    v2v = [e.intervals["voice_to_voice"] for e in events if isinstance(e, Latency)
           and "voice_to_voice" in e.intervals]
    return {"clip": clip.path.name, "reference": clip.reference, "heard": heard, "answer": answer,
            "voice_to_voice": v2v, "wer": report.wer(clip.reference, heard) if clip.reference else None}


def cross_talk(results: list[dict[str, Any]]) -> list[str]:
    """Sessions whose answer holds more of another question's own words than of its own question's."""
    found = []
    for r in results:
        answer, mine = _words(r["answer"]), _words(r["reference"] or "")
        for other in results:
            theirs = _words(other["reference"] or "")
            if other is not r and len(answer & (theirs - mine)) > len(answer & (mine - theirs)):
                found.append(f"{r['clip']} answered {other['clip']}")
    return found


async def run(settings: Settings, sessions: int) -> dict[str, Any]:
    from app.wiring import load_engines

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp_name, OllamaSim(
            default=ECHO, first_token_s=0.2, tokens_per_s=30) as sim:
        tmp = Path(tmp_name)
        asks = QUESTIONS + MORE_QUESTIONS
        clips = espeak_clips(tmp, [asks[i % len(asks)] + ("" if i < len(asks) else f" Number {i}.")
                                   for i in range(sessions)])
        if not clips:
            clips = folder_clips(SHARED_AUDIO)[:1] * sessions  # no espeak-ng: the same speech in every session
        engines = await load_engines(bench_settings(settings, sim.url, "mistral", tmp / "h.db", True),
                                     listen=True, tools=False)
        start = asyncio.Event()
        try:
            tasks = [asyncio.create_task(one_session(engines, c, start)) for c in clips[:sessions]]
            await asyncio.sleep(0.5)
            t0 = time.monotonic()
            start.set()
            results = await asyncio.gather(*tasks)
            wall = time.monotonic() - t0
        finally:
            await engines.aclose()
    v2v = sorted(v for r in results for v in r["voice_to_voice"])
    return {"sessions": sessions, "wall_s": round(wall, 1), "turns": len(v2v),
            "voice_to_voice_p50": report.percentile(v2v, 50), "voice_to_voice_p95": report.percentile(v2v, 95),
            "wer_mean": round(statistics.mean(r["wer"] for r in results if r["wer"] is not None), 3)
            if any(r["wer"] is not None for r in results) else None,
            "cross_talk": cross_talk(results), "results": results}


def render(summary: dict[str, Any]) -> str:
    lines = [f"# {summary['sessions']} sessions at once", "",
             f"- turns answered: {summary['turns']} in {summary['wall_s']} s",
             f"- voice-to-voice p50 {summary['voice_to_voice_p50']} s, p95 {summary['voice_to_voice_p95']} s",
             f"- mean WER {summary['wer_mean']}",
             f"- cross-talk: {', '.join(summary['cross_talk']) or 'none'}", "",
             "| clip | heard | answer starts |", "|---|---|---|"]
    for r in summary["results"]:
        lines.append(f"| {r['clip']} | {r['heard'][:60]} | {r['answer'][:50]} |")
    return "\n".join(lines) + "\n"


def main(settings: Settings, argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="launch.py bench --sessions", description=__doc__)
    p.add_argument("--sessions", type=int, required=True, help="how many voice sessions run at once (1-32)")
    p.add_argument("--out", type=Path, default=settings.path("data/bench"), help="where load.md is written")
    a = p.parse_args(argv)
    if not 1 <= a.sessions <= 32:
        p.error(f"--sessions {a.sessions}: give 1 to 32")
    summary = asyncio.run(run(settings, a.sessions))
    md = render(summary)
    a.out.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        (a.out / "load.md").write_text(md, encoding="utf-8")
    print(md)
    return 1 if summary["cross_talk"] else 0
