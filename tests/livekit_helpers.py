"""Shared by the LiveKit tests: keys that sign real tokens, and settings with a `livekit:` section."""

from __future__ import annotations

from pathlib import Path

from core.config import Settings, load_settings

KEY, SECRET, URL = "devkey", "secret-that-is-long-enough-for-hs256", "ws://localhost:7880"


def livekit_settings(tmp_path: Path, **livekit: object) -> Settings:
    return load_settings(memory={"db_path": str(tmp_path / "a.db"), "embedder": "none"}, mcp={"enabled": False},
                         livekit=livekit, gui={"allowed_hosts": ["testserver"]})  # TestClient's Host name
