"""Who may talk to the assistant: one ASGI middleware in front of every route (the app's, Gradio's, /ws).

Browsers let any page open a WebSocket to localhost and, through DNS rebinding, make a foreign host name point
at 127.0.0.1; so every request is checked before it reaches a route:

1. Host: a loopback name, `gui.host` (unless a wildcard) or one of `gui.allowed_hosts`. A rebinding page's
   requests carry its own name (`Host: evil.example.com:7860`) and are refused.
2. Origin, when a browser sent one: the app's own origin (an allowed host at the served port) or one of
   `gui.allowed_origins`. A request without Origin is a program (curl, a script) and is allowed, unless the
   browser's `Sec-Fetch-Site` says it came from another site (e.g. `<img src>`, which carries no Origin).
3. Access token, when `gui.auth_token` is set: `Authorization: Bearer <token>`, the `assistant_token` cookie,
   or `?token=<token>` (on a page load this sets the HttpOnly SameSite=Strict cookie and redirects to the
   address without the token, so the page's own fetches and WebSocket carry it). Compared in constant time.

A refusal happens before a WebSocket is accepted (HTTP 403/401 with the reason) and is logged once as a warning
naming what was refused and the config key that would allow it. Responses also forbid framing (clickjacking the
microphone button) and HTTP bodies are bounded by `gui.max_message_bytes`.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config_net import LOOPBACK_NAMES, WILDCARD_HOSTS, GuiConfig, is_loopback

log = logging.getLogger(__name__)

TOKEN_COOKIE = "assistant_token"
TOKEN_PARAM = "token"
LOG_REPEAT_S = 10.0  # the same refusal is logged at most once per this many seconds (a page may retry in a loop)
FRAME_HEADERS = [(b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'"),
                 (b"x-content-type-options", b"nosniff")]


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str  # what the client is told
    allow_with: str  # the config key that would allow it (for the log line)


def host_name(value: str) -> str:
    """`[::1]:7860` -> `::1`, `LocalHost.:80` -> `localhost`: the bare, lower-case name of a Host header."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0].rstrip(".") if value.count(":") == 1 else value.rstrip(".")


def shown(value: str) -> str:
    """A header value fit for one log line: quoted, control characters escaped, bounded."""
    return repr(value[:120] + ("…" if len(value) > 120 else ""))


class Policy:
    """The allowed hosts, origins and token, from `gui` settings."""

    def __init__(self, gui: GuiConfig) -> None:
        self.port = gui.port
        hosts = set(LOOPBACK_NAMES) | set(gui.allowed_hosts)
        if gui.host not in WILDCARD_HOSTS:
            hosts.add(host_name(gui.host) if gui.host.startswith("[") else gui.host.lower())
        self.hosts = frozenset(hosts)
        self.origins = frozenset(gui.allowed_origins)
        self.token = gui.auth_token.get_secret_value().encode() if gui.auth_token else None

    def host_allowed(self, host: str | None) -> bool:
        if not host:
            return False
        name = host_name(host)
        return name in self.hosts or is_loopback(name)

    def origin_allowed(self, origin: str, host: str = "") -> bool:
        """A configured origin, an allowed host at the served port, or the very host asked (same origin)."""
        origin = origin.strip().lower().rstrip("/")
        if origin in self.origins:
            return True
        try:
            parts = urlsplit(origin)
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            return False
        if parts.scheme not in ("http", "https"):
            return False
        return (parts.hostname in self.hosts and port == self.port) or parts.netloc == host.strip().lower()

    def token_ok(self, presented: str | None) -> bool:
        """Constant-time comparison; no token configured means none is needed."""
        if self.token is None:
            return True
        return presented is not None and hmac.compare_digest(presented.encode(), self.token)

    def check(self, scope: Scope, headers: Headers) -> Refusal | None:
        """The first reason to refuse this request, or None."""
        host = headers.get("host")
        if not self.host_allowed(host):
            return Refusal(403, f"Host {shown(host or '')} is not a name of this assistant; open it as "
                                f"http://localhost:{self.port}/", "gui.allowed_hosts")
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin, host or ""):
            return Refusal(403, f"requests from the page at {shown(origin)} are not allowed",
                           "gui.allowed_origins")
        if origin is None and headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            navigation = headers.get("sec-fetch-mode") == "navigate" and headers.get("sec-fetch-dest") == "document"
            if not (navigation and scope.get("method") in ("GET", "HEAD")):
                return Refusal(403, "a request made by another site's page is not allowed", "gui.allowed_origins")
        if self.token is not None and not self.token_ok(presented_token(scope, headers)):
            return Refusal(401, "this assistant needs its access token: open the page once as /?token=<token> "
                                "or send 'Authorization: Bearer <token>'", "gui.auth_token")
        return None


def presented_token(scope: Scope, headers: Headers) -> str | None:
    """The token from the Authorization header, the query string or the cookie, in that order."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    if TOKEN_PARAM in query:
        return query[TOKEN_PARAM]
    cookie = re.search(rf"(?:^|;\s*){TOKEN_COOKIE}=([^;]*)", headers.get("cookie", ""))
    return cookie.group(1) if cookie else None


class Guard:
    """The ASGI middleware: check, refuse or pass on; on a page load with ?token= set the cookie."""

    def __init__(self, app: ASGIApp, gui: GuiConfig) -> None:
        self.app = app
        self.policy = Policy(gui)
        self.max_body = gui.max_message_bytes
        self._logged: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self.policy.check(scope, headers)
        if refusal is not None:
            self._log(scope, refusal)
            if scope["type"] == "websocket":
                await self._deny_socket(refusal, receive, send, scope)
            else:
                await self._deny_http(refusal, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        if self.policy.token is not None and scope["method"] == "GET" and "authorization" not in headers:
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            if any(k == TOKEN_PARAM for k, _ in query):
                await self._set_cookie_and_redirect(scope, query, send)
                return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            too_big = f"request body of {length} bytes is over the limit of {self.max_body} bytes"
            await self._deny_http(Refusal(413, f"{too_big} (gui.max_message_bytes)", "gui.max_message_bytes"),
                                  receive, send)
            return
        await self.app(scope, self._bounded(receive), self._with_headers(send))

    def _log(self, scope: Scope, refusal: Refusal) -> None:
        what = f"{scope.get('method', 'WEBSOCKET')} {scope.get('path', '')}"
        client = (scope.get("client") or ("?",))[0]
        line = f"refused {what} from {client}: {refusal.reason} (to allow it, see {refusal.allow_with})"
        now = time.monotonic()
        if now - self._logged.get(line, -LOG_REPEAT_S) >= LOG_REPEAT_S:
            if len(self._logged) > 1000:
                self._logged.clear()
            self._logged[line] = now
            log.warning(line)

    @staticmethod
    async def _deny_http(refusal: Refusal, receive: Receive, send: Send) -> None:
        body = (refusal.reason + "\n").encode()
        await send({"type": "http.response.start", "status": refusal.status, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            *FRAME_HEADERS]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _deny_socket(refusal: Refusal, receive: Receive, send: Send, scope: Scope) -> None:
        """Refuse the handshake itself: the socket is never accepted, the client gets the HTTP status."""
        message = await receive()  # websocket.connect
        if message["type"] != "websocket.connect":
            return
        if "websocket.http.response" not in scope.get("extensions", {}):  # a server without denial responses
            await send({"type": "websocket.close", "code": 1008, "reason": refusal.reason[:120]})
            return
        body = (refusal.reason + "\n").encode()
        await send({"type": "websocket.http.response.start", "status": refusal.status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "websocket.http.response.body", "body": body})

    async def _set_cookie_and_redirect(self, scope: Scope, query: list[tuple[str, str]], send: Send) -> None:
        """A valid ?token= on a GET: remember it in an HttpOnly cookie, and drop it from the address bar."""
        token = next(v for k, v in query if k == TOKEN_PARAM)
        rest = urlencode([(k, v) for k, v in query if k != TOKEN_PARAM])
        location = (scope.get("root_path", "") + scope["path"]) + (f"?{rest}" if rest else "")
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = f"{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{secure}"
        await send({"type": "http.response.start", "status": 303, "headers": [
            (b"location", location.encode("latin-1", "replace")), (b"set-cookie", cookie.encode("latin-1")),
            (b"cache-control", b"no-store"), (b"referrer-policy", b"no-referrer"), (b"content-length", b"0"),
            *FRAME_HEADERS]})
        await send({"type": "http.response.body", "body": b""})

    def _bounded(self, receive: Receive) -> Receive:
        """A chunked body that grows past the limit ends as a client disconnect, never in memory."""
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    log.warning("request body over %d bytes cut (gui.max_message_bytes)", self.max_body)
                    return {"type": "http.disconnect"}
            return message

        return wrapped

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in FRAME_HEADERS:
                    if name.decode() not in headers:
                        headers.append(name.decode(), value.decode())
            await send(message)

        return wrapped


def scrub(obj: Any, secrets: list[str]) -> Any:
    """A JSON-able value with URL credentials (`http://user:pass@`) and the given secrets replaced by ***."""
    if isinstance(obj, dict):
        return {k: scrub(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub(v, secrets) for v in obj]
    if isinstance(obj, str):
        obj = re.sub(r"(\w+://)[^/@\s]+@", r"\1***@", obj)
        for s in secrets:
            obj = obj.replace(s, "***") if s else obj
    return obj
