"""This computer's microphone and speaker as the audio edge of one session, shared by `launch.py desktop` and
the app's "Audio: this computer" mode.

The devices are one pair per machine, so `DesktopSlot` lets one session hold them at a time. Device errors
carry their fix as data (`DesktopAudioError.fix`), so the CLI prints it and the page shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from base.events import ErrorCode, Event
from base.status import FixableError
from core.config import AudioConfig
from realtime.audio_in import AudioInputError, MicrophoneSource
from realtime.speaker import SpeakerError, SpeakerOutput

DEVICES_FIX = "run `python launch.py devices` to list them and set {key} in config/config.yaml"


class DesktopAudioError(FixableError):
    """A desktop device cannot be used; `code` is AUDIO_INPUT or AUDIO_OUTPUT."""

    def __init__(self, code: ErrorCode, problem: str, fix: str) -> None:
        super().__init__(problem, fix)
        self.code = code


class DesktopSlot:
    """Who holds this computer's microphone and speaker: two sessions playing at once would talk over each other."""

    def __init__(self) -> None:
        self.owner: Any = None

    def claim(self, owner: Any) -> Any:
        """Take the devices for `owner`; returns the current holder instead if another session has them."""
        if self.owner is not None and self.owner is not owner:
            return self.owner
        self.owner = owner
        return None

    def release(self, owner: Any) -> None:
        if self.owner is owner:
            self.owner = None


def _device_label(device: str | int | None) -> str:
    return "the system default" if device is None else repr(device)


class DesktopAudio:
    """This computer's microphone (input) and speaker (output) as the audio edge of one session.

    Frames and mic errors go to callables chosen by the caller, so the mic can open before the VoiceAgent that
    will consume it exists (its frames are dropped until then) and a failing device starts nothing.
    """

    def __init__(self, cfg: AudioConfig, sample_rate: int, on_frame: Callable[[np.ndarray], None],
                 on_error: Callable[[Event], None]) -> None:
        self.cfg = cfg
        self.speaker = SpeakerOutput(cfg, sample_rate)
        self.mic: MicrophoneSource | None = MicrophoneSource(cfg, on_frame, on_error=on_error)

    async def open(self, *, listen: bool = True) -> None:
        """Open the mic (unless not listening) and the speaker; if either fails, close both and raise one
        error naming every problem, so the user fixes both at once."""
        if not listen:
            self.mic = None
        failures: list[tuple[ErrorCode, str, str]] = []
        if self.mic is not None:
            try:
                await self.mic.start()
            except Exception as exc:
                if isinstance(exc, AudioInputError):
                    problem, fix = exc.problem, exc.fix
                else:
                    problem = f"input device {_device_label(self.cfg.input_device)} cannot be opened ({exc})"
                    fix = DEVICES_FIX.format(key="audio.input_device")
                failures.append((ErrorCode.AUDIO_INPUT, f"desktop microphone: {problem}", fix))
        try:
            await self.speaker.start()
        except Exception as exc:
            if isinstance(exc, SpeakerError):
                problem, fix = exc.problem, exc.fix
            else:
                name = self.speaker.device_name or _device_label(self.cfg.output_device)
                problem = f"output device {name} cannot be opened ({exc})"
                fix = DEVICES_FIX.format(key="audio.output_device")
            failures.append((ErrorCode.AUDIO_OUTPUT, f"desktop speaker: {problem}", fix))
        if failures:
            await self.close()
            fixes = list(dict.fromkeys(f for _, _, f in failures))
            raise DesktopAudioError(failures[0][0], "; ".join(p for _, p, _ in failures), "; ".join(fixes))

    def devices(self) -> dict[str, str]:
        """The opened devices' names, for the page's status line."""
        return {"input": self.mic.device_name if self.mic is not None else "",
                "output": self.speaker.device_name}

    async def close(self) -> None:
        """Stop listening first (no frames into a closing agent), then the speaker. Safe to call twice."""
        if self.mic is not None:
            await self.mic.stop()
        await self.speaker.stop()
