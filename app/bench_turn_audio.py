"""`python launch.py bench --turn-audio`: how much can the audio model tell on these voices?

The turn-taking bench counts outcomes, which mix Whisper, the words and the audio. This one asks Smart Turn
alone: P(finished) after 100-1000 ms of silence, for finished statements (a question mark ends a turn without
the audio, so none here) and for fragments spoken before a pause (`app.bench_turns.PAUSED`, and more), in
any number of voices. The audio is what the listener hands the model: speech from its start, then silence.
If the two sets overlap (an AUC near 0.5), no rule over the audio can both end every finished turn at the short
silence and hold every fragment; the words have to decide, and a better judge has to be measured here first.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.bench_turns import PAUSED
from app.bench_voices import Say, named_voices
from base.audio import LISTEN_RATE
from core.config import PROJECT_ROOT, Settings

SILENCES_MS = (100, 200, 300, 450, 600, 800, 1000)
FINISHED = [
    "Yes.", "No.", "Okay.", "Sure.", "Thanks.", "Maybe.", "Paris.", "London.", "Next song.", "Never mind.",
    "Not really.", "Good morning.", "I don't know.", "Tell me a joke.", "Turn off the lights.", "Play some jazz.",
    "Call my mother.", "Remind me at noon.", "Add eggs to the list.", "Tell me about Paris.",
    "Thank you very much.", "I would like a cup of tea.", "We will stay at home.",
    "Set a timer for ten minutes please.",
    "The meeting moved to three o'clock. Please remind me to leave the office twenty minutes before.",
]
FRAGMENTS = [a for a, _, _ in PAUSED] + [
    "I think", "My favourite film", "So what I want", "Could you maybe", "The best thing about it",
    "I was wondering whether", "Tomorrow I need to", "Let me think",
]
BY_VOICE_AT = (0, 2)  # indexes into SILENCES_MS: the listener's two looks (90 ms, then 300 ms)
LEAD_S = 0.3  # silence before the speech, as in the other turn benches
SPEECH_LEVEL = 0.01  # |sample| above this is speech when finding where a synthetic clip's sound ends


@dataclass
class Row:
    voice: str
    kind: str  # "finished" or "fragment"
    text: str
    p: list[float]  # P(finished) at each of SILENCES_MS


def p_curve(p_finished: Callable[[np.ndarray], float], speech: np.ndarray) -> list[float]:
    """P(finished) of int16 `speech` (after LEAD_S of silence) at each silence of SILENCES_MS after its last sound."""
    audio = np.concatenate([np.zeros(int(LEAD_S * LISTEN_RATE), np.float32), speech.astype(np.float32) / 32768])
    loud = np.nonzero(np.abs(audio) > SPEECH_LEVEL)[0]
    end = int(loud[-1]) + 1 if len(loud) else len(audio)
    audio = np.concatenate([audio[:end], np.zeros(max(SILENCES_MS) * LISTEN_RATE // 1000, np.float32)])
    return [round(float(p_finished(audio[: end + ms * LISTEN_RATE // 1000])), 3) for ms in SILENCES_MS]


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """P(a finished clip scores above a fragment): 0.5 is chance, 1.0 a perfect split (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def summary(rows: list[Row], threshold: float) -> list[dict[str, float]]:
    """Per silence: share of finished clips and of fragments the model calls finished, and the AUC."""
    out = []
    for i, ms in enumerate(SILENCES_MS):
        fin = [r.p[i] for r in rows if r.kind == "finished"]
        frag = [r.p[i] for r in rows if r.kind == "fragment"]
        out.append({"silence_ms": ms, "finished_called_finished": _share(fin, threshold),
                    "fragments_called_finished": _share(frag, threshold), "auc": round(auc(fin, frag), 3)})
    return out


def _share(values: list[float], threshold: float) -> float:
    return round(sum(v >= threshold for v in values) / len(values), 3) if values else float("nan")


def measure(voices: dict[str, Say], p_finished: Callable[[np.ndarray], float]) -> list[Row]:
    rows = []
    for name, say in voices.items():
        for kind, texts in (("finished", FINISHED), ("fragment", FRAGMENTS)):
            rows += [Row(name, kind, t, p_curve(p_finished, say(t))) for t in texts]
        print(f"  {name}: {len(FINISHED)} finished, {len(FRAGMENTS)} fragments", flush=True)
    return rows


def render(rows: list[Row], threshold: float) -> str:
    voices = list(dict.fromkeys(r.voice for r in rows))
    lines = [f"Smart Turn alone, {len(voices)} voice(s) ({', '.join(voices)}): {len(FINISHED)} finished statements "
             f"and {len(FRAGMENTS)} fragments each; 'called finished' is P >= {threshold}.", "",
             "| silence after the last word | finished called finished | fragments called finished | AUC |",
             "| ---: | ---: | ---: | ---: |"]
    for s in summary(rows, threshold):
        lines.append(f"| {s['silence_ms']} ms | {s['finished_called_finished']:.0%} | "
                     f"{s['fragments_called_finished']:.0%} | {s['auc']:.2f} |")
    lines += ["", "AUC: the chance that a finished clip scores above a fragment (0.5 = no better than a coin).", "",
              "By voice, AUC at " + " / ".join(f"{SILENCES_MS[i]} ms" for i in BY_VOICE_AT) + ":", ""]
    for v in voices:
        mine = [r for r in rows if r.voice == v]
        lines.append(f"- {v}: " + " / ".join(f"{summary(mine, threshold)[i]['auc']:.2f}" for i in BY_VOICE_AT))
    return "\n".join(lines) + "\n"


def main(settings: Settings, argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="launch.py bench --turn-audio", description="The end-of-turn audio model alone.")
    p.add_argument("--voices", default="espeak-ng,piper,en+m1,en+f3,en-us+m3,en-gb+f2,en+klatt",
                   help="comma-separated: espeak-ng, piper, or any espeak-ng voice (default: seven)")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "data" / "bench", help="output folder")
    a = p.parse_args([x for x in argv if x != "--turn-audio"])
    if shutil.which("espeak-ng") is None:
        print("bench --turn-audio needs espeak-ng (apt-get install espeak-ng)")
        return 2
    from realtime.end_of_turn import FETCH_HINT, build_end_of_turn

    judge = build_end_of_turn(settings.turn.model_copy(update={"detector": "smart_turn"}))
    if judge is None or judge.model is None:
        print(f"bench --turn-audio needs the Smart Turn model at {settings.turn.model_path} (`{FETCH_HINT}`)")
        return 2
    try:
        voices = named_voices([v.strip() for v in a.voices.split(",") if v.strip()])
    except ValueError as exc:
        print(f"bench --turn-audio --voices {a.voices}: {exc}")
        return 2
    rows = measure(voices, judge.model)
    folder = a.out if a.out.is_absolute() else Path.cwd() / a.out
    folder.mkdir(parents=True, exist_ok=True)
    res = {"threshold": settings.turn.threshold, "silences_ms": list(SILENCES_MS),
           "summary": summary(rows, settings.turn.threshold), "rows": [asdict(r) for r in rows]}
    (folder / "turn_audio.json").write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    print(render(rows, settings.turn.threshold))
    print(f"written: {folder / 'turn_audio.json'}")
    return 0
