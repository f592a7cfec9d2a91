"""An Ollama-compatible server that streams scripted replies, for the benchmark and the tests.

It speaks the real wire protocol (`/api/chat` NDJSON chunks, `/api/tags`, `/api/version`, 404 for a model it
does not have) so the app's real `ollama` client is exercised end to end. Replies stream at a set speed
(first token after `first_token_s`, then `tokens_per_s`), like a real model on a desktop GPU, and every
request body is recorded so tests can check what the assistant sent (the transcript, recalled memories).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One model answer: text streamed in word-sized pieces, then optional tool calls.

    `cut_after` makes the server die mid-reply: after that many pieces the connection is dropped without
    the final chunk, as when Ollama crashes or runs out of memory.
    """

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    cut_after: int | None = None


@dataclass
class Rule:
    """When the latest user message matches `pattern`, answer with `replies[k]`, k = tool rounds so far."""

    pattern: str
    replies: list[Reply]

    def matches(self, text: str) -> bool:
        return re.search(self.pattern, text, re.IGNORECASE) is not None


def _pieces(text: str) -> list[str]:
    """Split into word-sized tokens that keep their spacing, like a tokenizer's output."""
    return re.findall(r"\s*\S+", text) or ([text] if text else [])


class OllamaSim:
    """A threaded HTTP server; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        rules: list[Rule] | None = None,
        *,
        default: Reply | None = None,
        models: tuple[str, ...] = ("mistral:latest",),
        first_token_s: float = 0.2,
        tokens_per_s: float = 30.0,
        hang: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.rules = rules or []
        self.default = default or Reply("I heard you say: {user}. That is all I can tell you for now.")
        self.models = models
        self.first_token_s = first_token_s
        self.tokens_per_s = tokens_per_s
        self.hang = hang
        self.requests: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OllamaSim:
        self._thread = threading.Thread(target=self._server.serve_forever, name="ollama-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OllamaSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- protocol -------------------------------------------------------------------------------
    def has_model(self, name: str) -> bool:
        full = name if ":" in name else f"{name}:latest"
        return full in self.models or name in self.models

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r.get("_path") == "/api/chat"]

    def choose(self, messages: list[dict[str, Any]]) -> Reply:
        """Pick the scripted reply for this conversation state."""
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {"content": ""})
        idx = max(i for i, m in enumerate(messages) if m is last_user) if last_user in messages else 0
        rounds = sum(1 for m in messages[idx + 1 :] if m.get("role") == "tool")
        text = str(last_user.get("content", ""))
        for rule in self.rules:
            if rule.matches(text):
                reply = rule.replies[min(rounds, len(rule.replies) - 1)]
                return Reply(reply.text.replace("{user}", text), reply.tool_calls, reply.cut_after)
        return Reply(self.default.text.replace("{user}", text.strip().rstrip(".!?")), self.default.tool_calls)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict[str, Any]:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b"{}"
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode(errors="replace")}
                return body if isinstance(body, dict) else {"_raw": body}

            def do_GET(self) -> None:
                if sim.hang:
                    sim._stop.wait()
                    return
                if self.path == "/api/tags":
                    models = [{"name": m, "model": m, "size": 4_100_000_000, "digest": "0" * 64,
                               "modified_at": "2026-01-01T00:00:00Z", "details": {"family": "llama"}}
                              for m in sim.models]
                    self._json(200, {"models": models})
                elif self.path == "/api/version":
                    self._json(200, {"version": "0.12.0"})
                elif self.path in ("/", ""):
                    data = b"Ollama is running"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = self._body()
                body["_path"] = self.path
                sim.requests.append(body)
                if sim.hang:
                    sim._stop.wait()
                    return
                if self.path != "/api/chat":
                    self._json(404, {"error": f"{self.path} is not served by this simulator"})
                    return
                model = str(body.get("model", ""))
                if not sim.has_model(model):
                    self._json(404, {"error": f"model '{model}' not found"})
                    return
                reply = sim.choose(list(body.get("messages") or []))
                if not body.get("tools"):  # like a real model: no tools offered, no tool calls
                    reply = Reply(reply.text or "Here is what I found.", [], reply.cut_after)
                if body.get("stream", True) is False:
                    self._json(200, self._final(model, reply.text, reply.tool_calls, 0.0))
                    return
                self._stream(model, reply)

            def _chunk(self, obj: dict[str, Any]) -> None:
                line = (json.dumps(obj) + "\n").encode()
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()

            def _final(self, model: str, text: str, tool_calls: list[dict[str, Any]], took: float) -> dict[str, Any]:
                msg: dict[str, Any] = {"role": "assistant", "content": text}
                if tool_calls:
                    msg["tool_calls"] = [{"function": tc} for tc in tool_calls]
                ns = int(took * 1e9)
                return {"model": model, "created_at": _stamp(), "message": msg, "done": True,
                        "done_reason": "stop", "total_duration": ns, "load_duration": 0,
                        "prompt_eval_count": 10, "prompt_eval_duration": 1000,
                        "eval_count": len(_pieces(text)), "eval_duration": ns}

            def _stream(self, model: str, reply: Reply) -> None:
                start = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    if sim._stop.wait(sim.first_token_s):
                        return
                    gap = 1.0 / sim.tokens_per_s if sim.tokens_per_s > 0 else 0.0
                    for i, piece in enumerate(_pieces(reply.text)):
                        if i and sim._stop.wait(gap):
                            return
                        if reply.cut_after is not None and i >= reply.cut_after:
                            self.close_connection = True
                            self.connection.shutdown(socket.SHUT_RDWR)  # no final chunk: a crashed server
                            return
                        self._chunk({"model": model, "created_at": _stamp(), "done": False,
                                     "message": {"role": "assistant", "content": piece}})
                    if reply.tool_calls:
                        self._chunk({"model": model, "created_at": _stamp(), "done": False,
                                     "message": {"role": "assistant", "content": "",
                                                 "tool_calls": [{"function": tc} for tc in reply.tool_calls]}})
                    final = self._final(model, "", [], time.monotonic() - start)
                    self._chunk(final)
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client cancelled the stream: exactly what barge-in does

        return Handler


def _stamp() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
