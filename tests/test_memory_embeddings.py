"""Embedders and the Chroma-backed memory store, in-process, with a stand-in Ollama /api/embed."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.embeddings import EmbedderUnavailable, OllamaEmbedder, make_embedder
from mcp_server.vector_memory import MemoryStore


def _vector(text: str) -> list[float]:
    """A deterministic 256-d bag-of-words vector: texts sharing words point the same way."""
    v = [0.0] * 256
    for word in text.lower().replace("?", "").split():
        v[hashlib.sha1(word.encode()).digest()[0]] += 1.0
    return v


class _EmbedHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/api/embed" or body["model"] != "nomic-embed-text":
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"error": "model not found"}')
            return
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = json.dumps({"model": body["model"], "embeddings": [_vector(t) for t in texts]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def embed_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbedHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    yield f"http://{host!s}:{port}"
    server.shutdown()


def test_ollama_embedder_returns_one_vector_per_text(embed_server: str) -> None:
    emb = OllamaEmbedder(embed_server, "nomic-embed-text")
    vectors = emb.embed(["peanut allergy", "my sister"])
    assert len(vectors) == 2 and len(vectors[0]) == 256
    assert emb.name == "ollama-nomic-embed-text"


def test_ollama_problems_say_what_to_do(embed_server: str) -> None:
    with pytest.raises(EmbedderUnavailable, match="ollama pull all-minilm"):
        OllamaEmbedder(embed_server, "all-minilm").embed(["x"])
    with pytest.raises(EmbedderUnavailable, match="not reachable"):
        OllamaEmbedder("http://127.0.0.1:9", "nomic-embed-text", timeout_s=2).embed(["x"])
    with pytest.raises(EmbedderUnavailable, match="embed_model is empty"):
        make_embedder("ollama", ollama_host=embed_server, embed_model=None)
    assert make_embedder("none", ollama_host=embed_server, embed_model=None) is None


def test_memory_store_round_trip_and_reopen(embed_server: str, tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "chroma", OllamaEmbedder(embed_server, "nomic-embed-text"))
    peanuts, created = store.remember("I am allergic to peanuts")
    assert created
    store.remember("my car is blue")
    again, created = store.remember("I am allergic to peanuts")
    assert not created and again.id == peanuts.id

    reopened = MemoryStore(tmp_path / "chroma", OllamaEmbedder(embed_server, "nomic-embed-text"))
    assert reopened.count() == 2
    best = reopened.recall("am I allergic to peanuts?", 1)[0]
    assert best.text == "I am allergic to peanuts" and best.distance is not None
    reopened.delete(best.id)
    assert reopened.get(best.id) is None and reopened.count() == 1


def test_store_reports_a_dead_embedder(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "chroma", OllamaEmbedder("http://127.0.0.1:9", "nomic-embed-text", 2))
    with pytest.raises(RuntimeError, match=r"could not open.*not reachable"):
        store.recall("anything", 1)
