"""The benchmark's speech: the shared real recordings (with their reference transcripts) and synthetic questions
spoken by espeak-ng and by Piper (see `app.bench_voices` for why both)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.config import PROJECT_ROOT

log = logging.getLogger(__name__)

SHARED_AUDIO = PROJECT_ROOT.parent / "shared" / "audio"
AUDIO_EXTS = {".wav", ".flac", ".mp3", ".ogg", ".m4a"}
# Multi-sentence questions spoken by espeak-ng: the reference transcript is the text itself.
QUESTIONS = [
    "I am planning a trip to Lisbon next month. What should I pack for the weather there?",
    "My sister has a birthday on Saturday. Can you suggest a present for someone who loves gardening?",
    "I have some chicken, rice and a few tomatoes. What could I cook for dinner tonight?",
    "The meeting moved to three o'clock. Please remind me to leave the office twenty minutes before.",
    "I want to start running in the mornings. How far should I go in the first week?",
]


@dataclass
class Clip:
    path: Path
    reference: str | None
    duration_s: float = 0.0


# --- clips ---------------------------------------------------------------------------------------------
def _readme_references(folder: Path) -> dict[str, str]:
    """`| file | what | transcript |` rows of a README.md table: file name -> transcript (the last cell)."""
    readme = folder / "README.md"
    refs: dict[str, str] = {}
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2 and Path(cells[0]).suffix.lower() in AUDIO_EXTS:
                refs[cells[0]] = cells[-1]
    return refs


def folder_clips(folder: Path) -> list[Clip]:
    """Every audio file in `folder`; reference text from `<name>.txt` beside it or the folder's README."""
    if not folder.is_dir():
        raise FileNotFoundError(f"--clips {folder}: no such folder (give a folder of WAV/FLAC/MP3 files)")
    refs = _readme_references(folder)
    clips = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_EXTS):
        txt = path.with_suffix(".txt")
        ref = txt.read_text(encoding="utf-8").strip() if txt.is_file() else refs.get(path.name)
        clips.append(Clip(path, ref))
    if not clips:
        raise FileNotFoundError(f"--clips {folder}: no audio files ({', '.join(sorted(AUDIO_EXTS))}) in it")
    return clips


def espeak_clips(folder: Path, texts: list[str]) -> list[Clip]:
    """Speak each question with espeak-ng into `folder` (none when espeak-ng is not installed)."""
    if shutil.which("espeak-ng") is None:
        log.warning("espeak-ng not found (apt-get install espeak-ng): benchmarking real-speech clips only")
        return []
    clips = []
    for i, text in enumerate(texts):
        out = folder / f"question_{i + 1}.wav"
        subprocess.run(["espeak-ng", "-s", "165", "-w", str(out), text], check=True, capture_output=True)
        clips.append(Clip(out, text))
    return clips


def piper_clips(folder: Path, texts: list[str]) -> list[Clip]:
    """Speak each question with the shipped Piper voice into `folder` (none when it cannot load).

    In a child process: the voice would otherwise stay loaded in the bench and count in its memory peak.
    """
    outs = [folder / f"piper_question_{i + 1}.wav" for i in range(len(texts))]
    args = [a for out, text in zip(outs, texts, strict=True) for a in (str(out), text)]
    done = subprocess.run([sys.executable, "-m", "app.bench_voices", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        log.warning("the Piper voice could not speak the questions: espeak-ng alone (%s)",
                    done.stderr.strip().splitlines()[-1:] or done.returncode)
        return []
    return [Clip(out, text) for out, text in zip(outs, texts, strict=True)]


def default_clips(tmp: Path, quick: bool) -> list[Clip]:
    """The real JFK recording plus the questions in two voices; --quick takes one short question."""
    if quick:
        return espeak_clips(tmp, QUESTIONS[:1]) or folder_clips(SHARED_AUDIO)[:1]
    shared = folder_clips(SHARED_AUDIO) if SHARED_AUDIO.is_dir() else []
    return shared + espeak_clips(tmp, QUESTIONS) + piper_clips(tmp, QUESTIONS)
