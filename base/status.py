"""What `check`, `/health` and the page say about a part of the assistant, and errors that carry their fix.

One shape everywhere: a component is ok or not, a detail says what was seen, and `fix` is the exact thing the
user can do about it (a command, a config key). Errors carry the fix as data, so a caller can show it, reword
the problem or pass it on without searching the message text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = False  # the assistant cannot answer at all without it
    parts: tuple[ComponentStatus, ...] = field(default=())  # e.g. the voices of the chain

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["parts"] = [p.to_dict() for p in self.parts]
        return out


class FixableError(Exception):
    """A failure the user can mend: `problem` says what went wrong, `fix` what to do about it."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(f"{problem}: {fix}" if fix else problem)
        self.problem = problem
        self.fix = fix
