"""The /ws fixtures shared by the API tests: a scripted Ollama, settings for it, and a TestClient on the app.

Import the three names into a test module to use them (pytest finds fixtures by name in the module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.ollama_sim import OllamaSim
from core.config import Settings
from gui.api import create_api
from tests.wsclient import fast_settings, make_engines, scripted_sim


@pytest.fixture
def sim() -> Iterator[OllamaSim]:
    with scripted_sim() as s:
        yield s


@pytest.fixture
def settings(sim: OllamaSim, tmp_path: Path) -> Settings:
    return fast_settings(sim.url, tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_api(make_engines(settings))) as c:
        yield c
