"""Access to a LiveKit server: signed join tokens (livekit-api's AccessToken) and a reachability probe.

The page and the agent worker join rooms with these tokens; the secret that signs them stays in the
configuration (a SecretStr) and is read only here, so it never reaches a log line, `/health` or the page.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import httpx

from core.config import LiveKitConfig

DEV_FIX = ("start a server (`livekit-server --dev`) and set LIVEKIT_URL=ws://localhost:7880, "
           "LIVEKIT_API_KEY=devkey, LIVEKIT_API_SECRET=secret (or the livekit: section of config/config.yaml)")


class LiveKitNotConfigured(RuntimeError):
    """url, key or secret is missing; the message names what to set."""


@dataclass(frozen=True)
class Grant:
    token: str
    url: str
    room: str
    identity: str


def not_configured_message(cfg: LiveKitConfig) -> str:
    return f"LiveKit is not configured: set {', '.join(cfg.missing())}; {DEV_FIX}"


def mint_token(cfg: LiveKitConfig, *, room: str | None = None, identity: str | None = None,
               name: str | None = None, agent: bool = False) -> Grant:
    """A JWT that lets one participant join one room (publish and subscribe), valid for `token_ttl_s`.

    `agent=True` adds the agent grant, which marks the participant as an agent in the room.
    """
    from livekit import api

    if not cfg.configured or cfg.url is None or cfg.api_key is None or cfg.api_secret is None:
        raise LiveKitNotConfigured(not_configured_message(cfg))
    room = room or cfg.room_name
    identity = identity or f"{'agent' if agent else 'user'}-{secrets.token_hex(4)}"
    grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                             can_publish_data=True, agent=True if agent else None)
    token = (api.AccessToken(cfg.api_key, cfg.api_secret.get_secret_value())
             .with_identity(identity)
             .with_name(name or identity)
             .with_grants(grants)
             .with_ttl(timedelta(seconds=cfg.token_ttl_s)))
    return Grant(token.to_jwt(), cfg.url, room, identity)


def http_url(url: str) -> str:
    """The server's HTTP address for a ws(s):// URL (LiveKit serves both on one port)."""
    if url.startswith("ws://"):
        return "http://" + url.removeprefix("ws://")
    if url.startswith("wss://"):
        return "https://" + url.removeprefix("wss://")
    return url


async def probe(cfg: LiveKitConfig, timeout_s: float = 2.0) -> tuple[bool, str, str]:
    """(ok, detail, fix) for `launch.py check`: configured at all, and does the server answer HTTP."""
    if not cfg.configured or cfg.url is None:
        return False, "not configured (optional: the page's WebSocket mode works without it)", \
            f"set {', '.join(cfg.missing())}; {DEV_FIX}"
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            resp = await client.get(http_url(cfg.url) + "/")
    except httpx.HTTPError as exc:
        return False, f"{cfg.url} does not answer ({type(exc).__name__}: {exc})", \
            "start the server (`livekit-server --dev` for a local one) or fix livekit.url / LIVEKIT_URL"
    return True, f"{cfg.url} answers (HTTP {resp.status_code}), room {cfg.room_name!r}, key {cfg.api_key}", ""
