"""Who speaks the benchmarks' synthetic clips: espeak-ng and Piper, as 16 kHz int16 arrays.

Two voices because they fool the end-of-turn model differently. espeak-ng's flat formant prosody gets
P(finished) 0.03 from Smart Turn on a plain statement ("...twenty minutes before.") and 0.98 on a fragment
("What is the capital of"); Piper's neural voice, the closest thing to a person that ships offline, gets 0.90
and 0.82-0.98, as human speech does. A judge measured on one voice only would be tuned to that voice.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from base.audio import LISTEN_RATE, to_pcm16

log = logging.getLogger(__name__)
Say = Callable[[str], np.ndarray]  # text -> int16 mono at LISTEN_RATE


def espeak_say(text: str, voice: str | None = None) -> np.ndarray:
    """espeak-ng at its default rate, in its default voice or `voice` ("en+f3"; apt-get install espeak-ng)."""
    from faster_whisper import decode_audio

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "say.wav"
        args = ["espeak-ng", *(["-v", voice] if voice else []), "-w", str(out), text]
        subprocess.run(args, check=True, capture_output=True)
        return np.asarray(decode_audio(str(out)) * 32767, dtype=np.int16)


def piper_say() -> Say:
    """The shipped Piper voice (joe), loaded once; raises if it cannot load (the caller skips the voice)."""
    from piper import PiperVoice

    from realtime.tts.piper_voice import default_model

    model, config = default_model()
    voice = PiperVoice.load(model, config_path=config)
    rate = int(voice.config.sample_rate)

    def say(text: str) -> np.ndarray:
        chunks = [c.audio_int16_array for c in voice.synthesize(text)]
        return to_pcm16(np.concatenate(chunks), rate, LISTEN_RATE)

    return say


def bench_voices() -> dict[str, Say]:
    """Every synthetic voice this machine has: {"espeak-ng": ..., "piper": ...}; missing ones are left out."""
    voices: dict[str, Say] = {}
    if shutil.which("espeak-ng") is not None:
        voices["espeak-ng"] = espeak_say
    try:
        voices["piper"] = piper_say()
    except Exception as exc:  # not installed or the voice files are missing: espeak-ng alone
        log.warning("bench: the Piper voice cannot load (%s): espeak-ng speaks every clip", exc)
    return voices


def named_voices(names: list[str]) -> dict[str, Say]:
    """The voices asked for by name: "espeak-ng" and "piper" as in `bench_voices`, any other name an espeak-ng
    voice ("en+f3", "en-us+m3": voices the end-of-turn judge was not tuned on). Raises ValueError naming a voice
    this machine cannot speak."""
    have = bench_voices()
    voices: dict[str, Say] = {}
    for name in names:
        if name in have:
            voices[name] = have[name]
        elif name in ("espeak-ng", "piper"):
            raise ValueError(f"the {name} voice is not on this machine (see `python launch.py check`)")
        elif shutil.which("espeak-ng") is None:
            raise ValueError(f"voice {name!r} needs espeak-ng (apt-get install espeak-ng)")
        else:
            try:
                espeak_say("a", name)
            except subprocess.CalledProcessError as exc:
                said = (exc.stderr or b"").decode(errors="replace").strip()
                raise ValueError(f"espeak-ng has no voice {name!r} ({said}): `espeak-ng --voices` lists them") from exc
            voices[f"espeak-ng {name}"] = functools.partial(espeak_say, voice=name)
    return voices


def main(argv: list[str]) -> int:
    """`python -m app.bench_voices OUT.wav TEXT [OUT.wav TEXT ...]`: Piper speaks each TEXT into OUT.wav."""
    import soundfile as sf

    say = piper_say()
    for out, text in zip(argv[::2], argv[1::2], strict=True):
        sf.write(out, say(text), LISTEN_RATE, subtype="PCM_16")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
