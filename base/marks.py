"""Turn latency: named wall-clock marks in, named intervals out.

The CLI, the `/ws` `latency` event, the app's chart and the benchmark all compute intervals here, so a figure
means the same thing wherever it is shown.
"""

from __future__ import annotations

import math

# interval name -> (from mark, to mark)
INTERVALS: dict[str, tuple[str, str]] = {
    "onset_to_first_partial": ("speech_start", "first_partial"),
    "eos_to_final": ("speech_end", "final"),
    "eos_to_first_token": ("speech_end", "llm_first_token"),
    "eos_to_first_audio": ("speech_end", "first_audio"),
    "voice_to_voice": ("speech_end", "first_played"),
    "request_to_first_token": ("turn_start", "llm_first_token"),
    "request_to_first_phrase": ("turn_start", "first_phrase"),
    "first_phrase_to_audio": ("first_phrase", "first_audio"),
    "request_to_first_played": ("turn_start", "first_played"),
    "turn_total": ("turn_start", "done"),
    # the rest of voice-to-voice, step by step (the benchmark's breakdown)
    "eos_to_decision": ("speech_end", "turn_judged"),
    "eos_to_request": ("speech_end", "turn_start"),  # a reply starts on words that let the turn end
    "decision_to_request": ("turn_judged", "turn_start"),
    "final_to_request": ("final", "turn_start"),
    "first_token_to_first_phrase": ("llm_first_token", "first_phrase"),
    "audio_to_first_played": ("first_audio", "first_played"),
}


def intervals(marks: dict[str, float]) -> dict[str, float]:
    """Every interval whose two marks are present, in seconds (rounded to the millisecond)."""
    out: dict[str, float] = {}
    for name, (a, b) in INTERVALS.items():
        if a in marks and b in marks:
            out[name] = round(marks[b] - marks[a], 3)
    return out


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    # rank = ceil(q% of n); round(x + 0.5) rounds half to even: p95 of 20 values gave the 20th, not the 19th
    k = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered) / 100) - 1))
    return ordered[k]
