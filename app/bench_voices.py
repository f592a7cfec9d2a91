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
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from base.audio import LISTEN_RATE, to_pcm16

log = logging.getLogger(__name__)
Say = Callable[[str], np.ndarray]  # text -> int16 mono at LISTEN_RATE
# (parts, pause seconds) -> one utterance, int16 mono at LISTEN_RATE, silent for the pause between each two parts
SayPaused = Callable[[Sequence[str], float], np.ndarray]


def espeak_say(text: str, voice: str | None = None, *, ssml: bool = False) -> np.ndarray:
    """espeak-ng at its default rate, in its default voice or `voice` ("en+f3"; apt-get install espeak-ng);
    `ssml`: `text` is SSML markup."""
    from faster_whisper import decode_audio

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "say.wav"
        args = ["espeak-ng", *(["-m"] if ssml else []), *(["-v", voice] if voice else []), "-w", str(out), text]
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


def espeak_say_paused(parts: Sequence[str], pause_s: float, voice: str | None = None) -> np.ndarray:
    """One espeak-ng utterance with an SSML `<break>` between the parts: the voice reads the first as the start of
    a sentence, not as a sentence of its own (which is what splicing utterances gives)."""
    from xml.sax.saxutils import escape

    spoken = f' <break time="{round(pause_s * 1000)}ms"/> '.join(escape(part) for part in parts)
    return espeak_say(f"<speak>{spoken}</speak>", voice, ssml=True)


def pause_point(chunks: list[list[tuple[str, int]]], words_before: int) -> tuple[int, int]:
    """Where the pause goes in a Piper utterance: (sample at the middle of the word gap after `words_before`
    words, the gap's own length). `chunks` are the (phoneme, samples) alignments of each sentence Piper spoke;
    a space phoneme, or the end of a sentence, is a word gap. Raises ValueError if the phonemes have fewer gaps
    (espeak's phonemizer reads "42" as two words: write the words out)."""
    at = seen = 0
    for i, chunk in enumerate(chunks):
        for phoneme, n in chunk:
            if phoneme == " ":
                seen += 1
                if seen == words_before:
                    return at + n // 2, n
            at += n
        if i < len(chunks) - 1:
            seen += 1
            if seen == words_before:
                return at, 0
    raise ValueError(f"Piper's phonemes have {seen} word gaps, the pause goes after word {words_before}")


def piper_say_paused() -> SayPaused:
    """The shipped Piper voice speaking both parts as one utterance, the pause put into the word gap its phoneme
    alignments show (the voice model patched in memory: needs the `onnx` package); raises if it cannot load."""
    import onnx  # noqa: F401  (without it Piper loads the voice with no alignments, and says so only in a log)
    from piper import PiperVoice

    from realtime.tts.piper_voice import default_model

    model, config = default_model()
    voice = PiperVoice.load(model, config_path=config, include_alignments=True)
    rate = int(voice.config.sample_rate)

    def say(parts: Sequence[str], pause_s: float) -> np.ndarray:
        spoken = list(voice.synthesize(" ".join(parts), include_alignments=True))
        if any(c.phoneme_alignments is None for c in spoken):
            raise ValueError("this Piper voice gives no phoneme alignments")
        chunks = [[(a.phoneme, a.num_samples) for a in c.phoneme_alignments or []] for c in spoken]
        audio = np.concatenate([c.audio_int16_array for c in spoken])
        pieces, start, words = [], 0, 0
        for part in parts[:-1]:
            words += len(part.split())
            mid, gap = pause_point(chunks, words)
            pieces += [audio[start:mid], np.zeros(max(0, round(pause_s * rate) - gap), dtype=np.int16)]
            start = mid
        return to_pcm16(np.concatenate([*pieces, audio[start:]]), rate, LISTEN_RATE)

    return say


def paused_voices(names: list[str]) -> dict[str, SayPaused]:
    """The voices of `bench_voices`/`named_voices`, by the same names, speaking a pause inside one utterance. Piper
    is left out (with a log line) where it cannot give alignments."""
    voices: dict[str, SayPaused] = {}
    for name in names:
        if name == "piper":
            try:
                voices[name] = piper_say_paused()
            except Exception as exc:
                log.warning("bench: Piper cannot speak a pause inside one utterance (%s): `pip install onnx`", exc)
        elif name == "espeak-ng":
            voices[name] = espeak_say_paused
        elif name.startswith("espeak-ng "):
            voices[name] = functools.partial(espeak_say_paused, voice=name.removeprefix("espeak-ng "))
    return voices


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
