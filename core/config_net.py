"""The network-facing configuration sections: who may reach the app (`gui:`) and the LiveKit server (`livekit:`).

Kept apart from core/config.py because the address and token rules are security rules, tested as such.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from core.config_base import ENV_PREFIX, Section

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
MIN_TOKEN_CHARS = 16
TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def is_loopback(host: str) -> bool:
    """True for a name or address that only this computer can reach (localhost, 127.x, ::1)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class GuiConfig(Section):
    """Where the page and /ws are served, who may reach them, and how big a message may be."""

    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    allowed_hosts: list[str] = Field(
        default_factory=list, description="extra Host names the app answers to, e.g. mybox.lan (no port)")
    allowed_origins: list[str] = Field(
        default_factory=list, description="extra page origins allowed to call the app, e.g. http://mybox.lan:8080")
    auth_token: SecretStr | None = Field(
        None, description="required to serve beyond loopback; clients send it as a Bearer header or ?token=")
    max_message_bytes: int = Field(1_048_576, ge=65_536, le=67_108_864,
                                   description="largest /ws frame or HTTP body accepted")
    max_text_chars: int = Field(4000, ge=100, le=100_000, description="longest typed message accepted")
    backpressure_frames: int = Field(
        50, ge=2, le=10000, description="queued frames past which partials and playback reports are skipped")
    send_queue_max: int = Field(
        2000, ge=10, le=100000, description="queued frames past which a client that does not read is closed")
    shutdown_grace_s: float = Field(1.5, gt=0, le=30, description="time sessions get to close on SIGTERM")

    @model_validator(mode="after")
    def _queue_above_threshold(self) -> GuiConfig:
        if self.send_queue_max <= self.backpressure_frames:
            raise ValueError(f"gui.send_queue_max ({self.send_queue_max}) must be above gui.backpressure_frames "
                             f"({self.backpressure_frames})")
        return self

    @field_validator("allowed_hosts")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not re.fullmatch(r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]", name):
                raise ValueError(f"{name!r} is not a host name: write a name or address without scheme or port, "
                                 "e.g. mybox.lan or 192.168.1.20")
        return [n.strip("[]").rstrip(".").lower() for n in v]

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for origin in v:
            if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?",
                                origin.rstrip("/")):
                raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], e.g. "
                                 "http://mybox.lan:8080 (no path, no wildcard)")
        return [o.rstrip("/").lower() for o in v]

    @field_validator("auth_token")
    @classmethod
    def _long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not re.fullmatch(rf"[A-Za-z0-9._~+/=-]{{{MIN_TOKEN_CHARS},}}", v.get_secret_value()):
            raise ValueError(f"must be at least {MIN_TOKEN_CHARS} letters, digits or ._~+/=-; make one with "
                             f"{TOKEN_HINT}")
        return v

    @model_validator(mode="after")
    def _token_beyond_loopback(self) -> GuiConfig:
        if not is_loopback(self.host) and self.auth_token is None:
            where = "every network interface" if self.host in WILDCARD_HOSTS else f"the network as {self.host}"
            raise ValueError(f"gui.host = {self.host!r} serves the assistant to {where}, so it needs an access "
                             f"token: set ASSISTANT_GUI__AUTH_TOKEN=$({TOKEN_HINT}) (or gui.auth_token in the "
                             "YAML file), or set gui.host: 127.0.0.1")
        return self


# The seed's plain variables (LIVEKIT_URL, ...), also what livekit's own tools read; ASSISTANT_LIVEKIT__* wins.
LIVEKIT_ENV = {"url": "LIVEKIT_URL", "api_key": "LIVEKIT_API_KEY", "api_secret": "LIVEKIT_API_SECRET",
               "room_name": "LIVEKIT_ROOM_NAME", "token_ttl_s": "LIVEKIT_TOKEN_TTL"}


class LiveKitConfig(Section):
    """A LiveKit server (SFU) the assistant can join as an agent; off until url, key and secret are set."""

    url: str | None = Field(None, description="ws(s):// URL of the LiveKit server, e.g. ws://localhost:7880")
    api_key: str | None = None
    api_secret: SecretStr | None = Field(None, description="never logged, never shown: a SecretStr")
    room_name: str = Field("voice-assistant", min_length=1, max_length=128)
    token_ttl_s: int = Field(86400, ge=60, le=30 * 86400)

    @model_validator(mode="before")
    @classmethod
    def _seed_env(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key, var in LIVEKIT_ENV.items():
            value = os.environ.get(var)
            if value and f"{ENV_PREFIX}LIVEKIT__{key.upper()}" not in os.environ:  # env wins over the file
                if key == "token_ttl_s" and not value.strip().isdigit():
                    raise ValueError(f"{var} = {value!r} is not a whole number of seconds (e.g. 86400)")
                out[key] = value
        return out

    @field_validator("url")
    @classmethod
    def _ws(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("ws://", "wss://", "http://", "https://")):
            raise ValueError("must start with ws://, wss://, http:// or https:// (e.g. ws://localhost:7880)")
        return v.rstrip("/") if v else None

    def missing(self) -> list[str]:
        """What still has to be set before tokens can be made, named as the user would set it."""
        pairs = (("url", self.url), ("api_key", self.api_key), ("api_secret", self.api_secret))
        return [f"livekit.{k} (or {LIVEKIT_ENV[k]})" for k, v in pairs if not v]

    @property
    def configured(self) -> bool:
        return not self.missing()
