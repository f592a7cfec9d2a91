"""Long-term memory: short facts about the user in a persistent Chroma collection (cosine space).

Only the MCP server process opens this store (Chroma's on-disk client is not meant to be shared between
processes); the assistant reads memories through the server's `recall` tool. Opening Chroma and loading the
embedding model happen in a background thread so the server answers `initialize` at once; a call that comes in
before they are ready waits for them.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.embeddings import Embedder, embedder_config, embedder_from_config

log = logging.getLogger(__name__)

DUPLICATE_DISTANCE = 0.05  # closer than this to an existing memory = the same fact said again
FORGET_MAX_DISTANCE = 0.6  # forget-by-description only deletes a memory at least this close


@dataclass(frozen=True)
class Memory:
    id: str
    text: str
    created_at: str
    distance: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "created_at": self.created_at, "distance": self.distance}


@functools.cache
def _chroma_function_class() -> Any:
    """Chroma's embedding-function adapter, built on first use so importing this module stays fast, and
    registered so Chroma can rebuild it from the collection's stored config instead of warning."""
    import numpy as np
    from chromadb import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    class AssistantEmbedding(EmbeddingFunction[Documents]):
        def __init__(self, inner: Embedder) -> None:
            self.inner = inner

        def __call__(self, input: Documents) -> Embeddings:
            return [np.asarray(v, dtype=np.float32) for v in self.inner.embed(list(input))]

        @staticmethod
        def name() -> str:
            return "voice_assistant_embedder"

        def get_config(self) -> dict[str, Any]:
            return embedder_config(self.inner)

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> AssistantEmbedding:
            return AssistantEmbedding(embedder_from_config(config))

        def default_space(self) -> Any:
            return "cosine"

    register_embedding_function(AssistantEmbedding)
    return AssistantEmbedding


def chroma_embedding(embedder: Embedder) -> Any:
    """Wrap an Embedder as a Chroma embedding function; passed again each time the collection opens."""
    return _chroma_function_class()(embedder)


class MemoryStore:
    """remember / recall / forget over one Chroma collection named after the embedder."""

    def __init__(self, chroma_path: Path, embedder: Embedder) -> None:
        self.chroma_path = chroma_path
        self.embedder = embedder
        self._collection: Any = None
        self._error: Exception | None = None
        self._ready = threading.Event()
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._started = False

    def open_in_background(self) -> None:
        """Start opening Chroma and loading the model; safe to call more than once."""
        with self._start_lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._open, name="chroma-open", daemon=True).start()

    def _open(self) -> None:
        try:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            self.chroma_path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(self.chroma_path), settings=ChromaSettings(anonymized_telemetry=False)
            )
            self._collection = client.get_or_create_collection(
                name=f"memories_{self.embedder.name}",
                metadata={"hnsw:space": "cosine"},
                embedding_function=chroma_embedding(self.embedder),
            )
            self.embedder.warm_up()
        except Exception as exc:
            log.warning("vector memory unavailable: %s", exc)
            self._error = exc
        finally:
            self._ready.set()

    def _wait(self, timeout_s: float = 60.0) -> Any:
        self.open_in_background()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the memory store is still loading its model; try again in a few seconds")
        if self._error is not None:
            raise RuntimeError(f"the memory store could not open: {self._error}")
        return self._collection

    def count(self) -> int:
        return int(self._wait().count())

    def remember(self, text: str) -> tuple[Memory, bool]:
        """Store a fact; returns (memory, created). A near-identical fact is not stored twice."""
        collection = self._wait()
        with self._write_lock:
            for existing in self._query(collection, text, 1):
                if existing.distance is not None and existing.distance < DUPLICATE_DISTANCE:
                    return existing, False
            memory = Memory(
                id="m-" + uuid.uuid4().hex[:8],
                text=text,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            collection.add(ids=[memory.id], documents=[text], metadatas=[{"created_at": memory.created_at}])
            return memory, True

    def recall(self, query: str, k: int) -> list[Memory]:
        """The k memories closest in meaning to the query, best first."""
        return self._query(self._wait(), query, k)

    def get(self, memory_id: str) -> Memory | None:
        found = self._wait().get(ids=[memory_id])
        if not found["ids"]:
            return None
        meta = (found.get("metadatas") or [{}])[0] or {}
        return Memory(found["ids"][0], found["documents"][0], str(meta.get("created_at", "")))

    def delete(self, memory_id: str) -> None:
        with self._write_lock:
            self._wait().delete(ids=[memory_id])

    @staticmethod
    def _query(collection: Any, text: str, k: int) -> list[Memory]:
        total = collection.count()
        if total == 0 or k <= 0:
            return []
        res = collection.query(query_texts=[text], n_results=min(k, total))
        metas = (res.get("metadatas") or [[]])[0]
        return [
            Memory(id_, doc, str((meta or {}).get("created_at", "")), float(dist))
            for id_, doc, meta, dist in zip(
                res["ids"][0], res["documents"][0], metas, res["distances"][0], strict=False
            )
        ]
