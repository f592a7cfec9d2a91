"""`/v1/livekit/*`: what the page needs to talk to the assistant through a LiveKit server instead of `/ws`.

GET  /v1/livekit/status       -> {"configured", "url", "room", "missing"}: whether the LiveKit mode can work.
POST /v1/livekit/token        {"room"?, "identity"?, "name"?} -> {"token", "url", "room", "identity"}
POST /v1/livekit/agent-token  the same, with the agent grant (for an agent run elsewhere).
GET  /v1/livekit/livekit-client.js  the npm `livekit-client` browser bundle, installed by `make` into .tools/
                              (served from here: the page works offline, no CDN).
Not configured: 503 with what to set. The secret never leaves the server; only signed tokens do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from core.config import PROJECT_ROOT, LiveKitConfig
from core.livekit_access import LiveKitNotConfigured, mint_token, not_configured_message

NAME_PATTERN = r"^[A-Za-z0-9_.:@-]+$"
CLIENT_BUNDLE = PROJECT_ROOT / ".tools" / "node_modules" / "livekit-client" / "dist" / "livekit-client.umd.js"


class TokenRequest(BaseModel):
    """All optional: the configured room, a fresh identity and the identity as display name by default."""

    model_config = ConfigDict(extra="forbid")

    room: str | None = Field(None, min_length=1, max_length=128, pattern=NAME_PATTERN)
    identity: str | None = Field(None, min_length=1, max_length=128, pattern=NAME_PATTERN)
    name: str | None = Field(None, min_length=1, max_length=128)


def livekit_router(cfg: LiveKitConfig) -> APIRouter:
    router = APIRouter(prefix="/v1/livekit", tags=["livekit"])

    def grant(req: TokenRequest | None, agent: bool) -> dict[str, Any]:
        req = req or TokenRequest()
        try:
            g = mint_token(cfg, room=req.room, identity=req.identity, name=req.name, agent=agent)
        except LiveKitNotConfigured as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from exc
        return {"token": g.token, "url": g.url, "room": g.room, "identity": g.identity}

    @router.get("/status")
    async def status() -> dict[str, Any]:
        return {"configured": cfg.configured, "url": cfg.url, "room": cfg.room_name, "missing": cfg.missing(),
                "message": "" if cfg.configured else not_configured_message(cfg)}

    @router.post("/token")
    async def token(req: TokenRequest | None = None) -> dict[str, Any]:
        return grant(req, agent=False)

    @router.post("/agent-token")
    async def agent_token(req: TokenRequest | None = None) -> dict[str, Any]:
        return grant(req, agent=True)

    @router.get("/livekit-client.js")
    async def client_bundle() -> FileResponse:
        if not CLIENT_BUNDLE.exists():
            raise HTTPException(status_code=404, detail="livekit-client is not installed: run "
                                "`make .tools/.stamp-livekit-client` (npm install livekit-client into .tools/)")
        return FileResponse(CLIENT_BUNDLE, media_type="text/javascript")

    return router
