"""How fast does the listener hear? `python -m app.listen_bench [clips...]`

Each clip is played in real time through the real VAD, Whisper and Listener, as a microphone would deliver
it. Per clip and as the median over clips it prints speech onset -> first partial and end of speech -> final
(end of speech = the last speech frame, so the endpoint silence `vad.silence_ms` is included: that is what a
user waits), plus endpoint -> final (the decoding the endpoint silence did not hide). Without clips it uses
../shared/audio/jfk.flac and a few sentences spoken by espeak-ng into a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from base.events import Event, FinalTranscript
from core.config import PROJECT_ROOT, Settings, load_settings
from realtime.audio_in import FileSource
from realtime.listener import Listener
from realtime.stt import SpeechToText, build_stt
from realtime.vad import build_vad

JFK = PROJECT_ROOT.parent / "shared" / "audio" / "jfk.flac"
ESPEAK_SENTENCES = [
    "What is the weather like in Paris tomorrow?",
    "Set a timer for ten minutes.",
    "Remind me to call my sister when I get home tonight.",
]


@dataclass
class ClipResult:
    clip: str
    turns: int
    text: str
    onset_to_partial_s: float | None
    end_to_final_s: float | None
    endpoint_to_final_s: float | None


def espeak_clips(folder: Path) -> list[Path]:
    """Synthesize the test sentences with espeak-ng (22.05 kHz WAV; the file source resamples)."""
    if shutil.which("espeak-ng") is None:
        return []
    clips = []
    for i, text in enumerate(ESPEAK_SENTENCES):
        out = folder / f"espeak_{i}.wav"
        subprocess.run(["espeak-ng", "-w", str(out), text], check=True, capture_output=True)
        clips.append(out)
    return clips


async def bench_clip(path: Path, settings: Settings, stt: SpeechToText, speed: float = 1.0) -> ClipResult:
    """Play one clip through a fresh listener; timing from the listener's own per-turn marks."""
    events: list[Event] = []
    listener = Listener(build_vad(settings.vad), stt, settings.vad, settings.stt, events.append)
    source = FileSource(path, speed=speed, tail_silence_s=settings.vad.silence_ms / 1000 + 1.0)
    await source.run(listener.push)
    await listener.flush()
    await listener.aclose()
    turns = list(dict.fromkeys(e.turn_id for e in events if e.type == "speech_started"))
    finals = [e.text for e in events if isinstance(e, FinalTranscript)]
    first = listener.marks(turns[0]) if turns else {}
    last = listener.marks(turns[-1]) if turns else {}

    def span(a: dict[str, float], start: str, b: dict[str, float], end: str) -> float | None:
        return round(b[end] - a[start], 3) if start in a and end in b else None

    return ClipResult(path.name, len(turns), " ".join(finals), span(first, "speech_start", first, "first_partial"),
                      span(last, "speech_end", last, "final"), span(last, "endpoint", last, "final"))


def _p50(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{statistics.median(present):.3f}" if present else "-"


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


async def run_bench(clips: list[Path], settings: Settings, speed: float = 1.0) -> list[ClipResult]:
    stt = await asyncio.to_thread(build_stt, settings.stt)
    results = []
    for clip in clips:
        r = await bench_clip(clip, settings, stt, speed)
        results.append(r)
        print(f"{r.clip:<24} turns {r.turns}  onset->partial {_fmt(r.onset_to_partial_s)} s  "
              f"speech end->final {_fmt(r.end_to_final_s)} s  endpoint->final {_fmt(r.endpoint_to_final_s)} s"
              f"\n{'':<24} {r.text!r}", flush=True)
    print(f"{'p50 over ' + str(len(results)) + ' clips':<24}          "
          f"onset->partial {_p50([r.onset_to_partial_s for r in results])} s  "
          f"speech end->final {_p50([r.end_to_final_s for r in results])} s  "
          f"endpoint->final {_p50([r.endpoint_to_final_s for r in results])} s")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("clips", nargs="*", type=Path,
                        help="audio files (default: jfk + espeak-ng sentences)")
    parser.add_argument("--config", type=Path, default=None, help="config file (default config/config.yaml)")
    parser.add_argument("--speed", type=float, default=1.0, help="1.0 = real time (what a microphone does)")
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    with tempfile.TemporaryDirectory(prefix="listen-bench-") as tmp:
        clips = list(args.clips) or [JFK, *espeak_clips(Path(tmp))]
        missing = [c for c in clips if not c.is_file()]
        if missing:
            print(f"clip not found: {', '.join(map(str, missing))}")
            return 2
        print(f"vad {settings.vad.engine} silence {settings.vad.silence_ms} ms, stt {settings.stt.model} "
              f"beam {settings.stt.beam_size}/{settings.stt.final_beam_size}, "
              f"partials every {settings.stt.partial_interval_ms} ms of audio")
        asyncio.run(run_bench(clips, settings, args.speed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
