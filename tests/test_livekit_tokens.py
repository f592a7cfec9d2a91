"""`/v1/livekit/*` through the real app: tokens checked with livekit-api's own TokenVerifier, status, 503."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from livekit.api import TokenVerifier

from core.config import LIVEKIT_ENV, ConfigError, load_settings
from core.livekit_access import probe
from gui.api import create_api
from tests.livekit_helpers import KEY, SECRET, URL
from tests.livekit_helpers import livekit_settings as settings
from tests.wsclient import make_engines


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in LIVEKIT_ENV.values():
        monkeypatch.delenv(var, raising=False)
    for key in LIVEKIT_ENV:
        monkeypatch.delenv(f"ASSISTANT_LIVEKIT__{key.upper()}", raising=False)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    s = settings(tmp_path, url=URL, api_key=KEY, api_secret=SECRET, room_name="kitchen", token_ttl_s=3600)
    with TestClient(create_api(make_engines(s))) as c:
        yield c


def test_user_token_is_signed_and_grants_the_room(client: TestClient) -> None:
    resp = client.post("/v1/livekit/token", json={"identity": "alice", "name": "Alice"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["url"] == URL and body["room"] == "kitchen" and body["identity"] == "alice"
    claims = TokenVerifier(KEY, SECRET).verify(body["token"])
    assert claims.identity == "alice" and claims.name == "Alice"
    v = claims.video
    assert v is not None and v.room_join and v.room == "kitchen" and v.can_publish and v.can_subscribe
    assert not v.agent
    with pytest.raises(Exception, match=r"[Ss]ignature"):
        TokenVerifier(KEY, "another-secret-that-is-long-enough").verify(body["token"])


def test_token_ttl_and_defaults(client: TestClient) -> None:
    body = client.post("/v1/livekit/token").json()  # no body at all: configured room, fresh identity
    assert body["room"] == "kitchen" and body["identity"].startswith("user-")
    import jwt

    raw = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert abs(raw["exp"] - time.time() - 3600) < 30
    other = client.post("/v1/livekit/token", json={"room": "garage"}).json()
    assert TokenVerifier(KEY, SECRET).verify(other["token"]).video.room == "garage"  # type: ignore[union-attr]


def test_agent_token_has_the_agent_grant(client: TestClient) -> None:
    body = client.post("/v1/livekit/agent-token", json={"identity": "assistant"}).json()
    claims = TokenVerifier(KEY, SECRET).verify(body["token"])
    assert claims.identity == "assistant" and claims.video is not None and claims.video.agent
    assert claims.video.room == "kitchen" and claims.video.room_join


def test_bad_request_names_the_field(client: TestClient) -> None:
    resp = client.post("/v1/livekit/token", json={"room": "a room with spaces"})
    assert resp.status_code == 422 and "room" in resp.text
    resp = client.post("/v1/livekit/token", json={"rooom": "x"})
    assert resp.status_code == 422 and "rooom" in resp.text


def test_status_and_secret_never_leaks(client: TestClient) -> None:
    status = client.get("/v1/livekit/status").json()
    assert status["configured"] is True and status["url"] == URL and status["room"] == "kitchen"
    for path in ("/v1/livekit/status", "/health"):
        assert SECRET not in client.get(path).text


def test_not_configured_is_503_with_the_fix(tmp_path: Path) -> None:
    with TestClient(create_api(make_engines(settings(tmp_path, url=URL)))) as c:
        status = c.get("/v1/livekit/status").json()
        assert status == {**status, "configured": False, "url": URL, "room": "voice-assistant"}
        for path in ("/v1/livekit/token", "/v1/livekit/agent-token"):
            resp = c.post(path, json={})
            assert resp.status_code == 503
            assert "LIVEKIT_API_KEY" in resp.text and "LIVEKIT_API_SECRET" in resp.text


def test_seed_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "wss://lk.example.org")
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    monkeypatch.setenv("LIVEKIT_ROOM_NAME", "lobby")
    monkeypatch.setenv("LIVEKIT_TOKEN_TTL", "600")
    cfg = load_settings(memory={"embedder": "none"}).livekit
    assert cfg.configured and cfg.url == "wss://lk.example.org" and cfg.room_name == "lobby"
    assert cfg.token_ttl_s == 600 and SECRET not in repr(cfg) and SECRET not in str(load_settings())
    monkeypatch.setenv("ASSISTANT_LIVEKIT__ROOM_NAME", "wins")
    assert load_settings().livekit.room_name == "wins"
    monkeypatch.setenv("LIVEKIT_TOKEN_TTL", "a day")
    with pytest.raises(ConfigError, match="LIVEKIT_TOKEN_TTL"):
        load_settings()
    monkeypatch.setenv("LIVEKIT_TOKEN_TTL", "600")
    monkeypatch.setenv("LIVEKIT_URL", "localhost:7880")
    with pytest.raises(ConfigError, match="ws://"):
        load_settings()


async def test_probe_says_what_is_wrong(tmp_path: Path) -> None:
    ok, detail, fix = await probe(settings(tmp_path).livekit)
    assert not ok and "not configured" in detail and "livekit-server --dev" in fix
    cfg = settings(tmp_path, url="ws://127.0.0.1:9", api_key=KEY, api_secret=SECRET).livekit
    ok, detail, fix = await probe(cfg, timeout_s=1.0)
    assert not ok and "does not answer" in detail and "livekit-server" in fix and SECRET not in detail + fix
