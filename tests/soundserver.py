"""A private PulseAudio daemon with null sinks, so tests have a 'speaker' to record and a 'microphone' to feed.

`spk` is the default sink (record it from `spk.monitor`); `micfeed` is a sink whose monitor backs the
virtual source `vmic`, the default source: whatever is played into `micfeed` is what a sounddevice
InputStream on the default device hears.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PA_CONFIG = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={sock}
load-module module-null-sink sink_name=spk rate=48000 channels=1
load-module module-null-sink sink_name=micfeed rate=48000 channels=1
load-module module-virtual-source source_name=vmic master=micfeed.monitor
set-default-sink spk
set-default-source vmic
"""


def available() -> bool:
    return all(shutil.which(b) for b in ("pulseaudio", "pactl", "paplay", "parecord"))


@contextmanager
def pulse_daemon() -> Iterator[dict[str, str]]:
    """Start a daemon; yield the environment that points clients at it; stop it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="pulse-"))
    sock = root / "native"
    pa = root / "test.pa"
    pa.write_text(PA_CONFIG.format(sock=sock))
    env = dict(os.environ, XDG_RUNTIME_DIR=str(root), HOME=str(root), PULSE_SERVER=f"unix:{sock}")
    proc = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", "-F", str(pa), "--log-target=stderr"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            ok = subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=5).returncode == 0
            if ok:
                break
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"pulseaudio exited: {err[-2000:]}")
            time.sleep(0.1)
        else:
            raise RuntimeError("pulseaudio did not answer within 15 s")
        yield {k: env[k] for k in ("XDG_RUNTIME_DIR", "PULSE_SERVER", "HOME")}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def play_into_mic(wav: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Play a WAV file into the virtual microphone (asynchronously)."""
    return subprocess.Popen(["paplay", "--device=micfeed", str(wav)], env={**os.environ, **env})


@contextmanager
def record_speaker(out: Path, env: dict[str, str], rate: int = 48000) -> Iterator[Path]:
    """Record what reaches the default sink into `out` (WAV); waits until the recorder really writes."""
    proc = subprocess.Popen(
        ["parecord", "--device=spk.monitor", f"--rate={rate}", "--channels=1", "--format=s16le",
         "--file-format=wav", str(out)],
        env={**os.environ, **env},
    )
    try:
        deadline = time.monotonic() + 10
        while not out.exists() or out.stat().st_size <= 44:
            if time.monotonic() >= deadline or proc.poll() is not None:
                raise AssertionError(f"parecord wrote no audio to {out} within 10 s (exit code {proc.poll()})")
            time.sleep(0.05)
        yield out
    finally:
        proc.terminate()
        proc.wait(timeout=5)
