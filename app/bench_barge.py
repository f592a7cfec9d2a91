"""The false-interruption half of `bench --turns-only`: what talking over a reply does to it.

A long reply plays (real voices, the scripted Ollama server, a paced output); over it, in real time, the user
says "okay", "mhm", "got it" and other backchannels, coughs (a noise burst), or speaks real words or a lone
"stop". The backchannels and the cough must let the reply go on (pausing it meanwhile is fine); the words and
the command must cut it. Real VAD, Whisper and barge-in policy.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from base.audio import LISTEN_RATE
from base.events import Event, Interrupted
from core.config import Settings

STORY = " ".join(f"This is sentence number {i} of a long story about the sea." for i in range(1, 30))
# (what is said, whether it must cut the reply): backchannels go on, words and a lone command cut
SPOKEN = {"okay": ("okay", False), "mhm": ("mm hmm", False), "right": ("right", False), "yeah": ("yeah", False),
          "uh-huh": ("uh huh", False), "got it": ("got it", False), "I see": ("I see", False),
          "words": ("wait, stop, tell me about the moon", True), "stop": ("stop", True)}


def cough(seconds: float = 0.45) -> np.ndarray:
    """A noise burst with a fast decay, the shape of a cough."""
    t = np.arange(int(seconds * LISTEN_RATE)) / LISTEN_RATE
    noise = np.random.default_rng(3).normal(0, 1, len(t)) * np.exp(-t * 6) * 9000
    return noise.astype(np.int16)


async def run_barge_cases(settings: Settings, say: Callable[[str], np.ndarray]) -> list[dict[str, object]]:
    """One reply per case; `say(text)` makes the speech. Returns what each case did to the reply."""
    from app.ollama_sim import OllamaSim, Reply, Rule
    from app.wiring import load_engines
    from realtime.audio_in import feed
    from realtime.paced_output import PacedOutput
    from realtime.voice_agent import VoiceAgent

    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as d, OllamaSim([Rule("story", [Reply(STORY)])], first_token_s=0.2,
                                                      tokens_per_s=30) as sim:
        s = settings.model_copy(update={
            "ollama": settings.ollama.model_copy(update={"host": sim.url}),
            "tts": settings.tts.model_copy(update={"chain": ["piper", "pyttsx3"]}),
            "memory": settings.memory.model_copy(update={"db_path": str(Path(d) / "h.db"), "embedder": "none"}),
        })
        engines = await load_engines(s, tools=False)
        cases = {name: (say(text), cuts) for name, (text, cuts) in SPOKEN.items()}
        cases["cough"] = (cough(), False)
        try:
            for name, (speech, must_cut) in cases.items():
                out = PacedOutput(s.tts.sample_rate)
                agent = VoiceAgent(engines, out)
                events: list[Event] = []
                agent.subscribe(events.append)
                await agent.submit_text("tell me a long story")
                for _ in range(600):
                    if agent.state == "speaking":
                        break
                    await asyncio.sleep(0.05)
                audio = np.concatenate([speech, np.zeros(int(2.5 * LISTEN_RATE), dtype=np.int16)])
                seen_paused: list[bool] = []

                def push(frame: np.ndarray, agent: VoiceAgent = agent, seen: list[bool] = seen_paused) -> None:
                    agent.push_audio(frame)
                    seen.append(agent.barge_in.paused)

                await feed(audio, push)
                paused = any(seen_paused)
                cut = any(isinstance(e, Interrupted) for e in events)
                playing = agent.state == "speaking"
                heard = [e.text for e in events if e.type == "final_transcript"]  # type: ignore[attr-defined]
                rows.append({"case": name, "paused": paused, "interrupted": cut, "still_playing": playing,
                             "heard": heard, "ok": cut if must_cut else (not cut and playing)})
                print(f"  over the reply: {name}: paused {paused}, interrupted {cut}, heard {heard}", flush=True)
                await agent.aclose()
        finally:
            await engines.aclose()
    return rows
