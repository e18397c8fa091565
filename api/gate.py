"""Who is asking: an API token, a login cookie, or (opt-in) a trusted proxy's header.

`Gate` answers it for a request; `GateMiddleware` asks it for EVERY request and websocket
before any route runs (Gradio's page, API, queue, upload and file routes included), so a
route added later cannot forget the check. `BodyLimit` refuses a body over the limit
before it is read: by Content-Length at once, and while streaming for chunked bodies.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.passwords import PasswordChecks
from assistant.auth import LOCAL, Directory, Principal
from assistant.auth.ratelimit import LoginLimiter
from assistant.settings import Settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "assistant_session"
# With Secure cookies the name carries the `__Host-` prefix: the browser then refuses it
# from any other host of the site, over plain HTTP, or with a Domain attribute.
SECURE_COOKIE = "__Host-assistant_session"
# The only requests that need no login: exact (method, path) pairs, never a whole path.
PUBLIC = frozenset(
    {
        ("GET", "/login"),
        ("HEAD", "/login"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("GET", "/healthz"),
        ("HEAD", "/healthz"),
        ("GET", "/readyz"),
        ("HEAD", "/readyz"),
        ("GET", "/oidc/login"),  # OpenID Connect sign-in: its start and the provider's
        ("GET", "/oidc/callback"),  # redirect back (state and nonce checked there)
    }
)
PUBLIC_MAX_BODY = 4096  # a login form is a few hundred bytes; never an upload's size


@dataclass
class Gate:
    """directory None: auth off (the laptop on loopback, no users): everyone is LOCAL."""

    directory: Directory | None
    limiter: LoginLimiter
    session_hours: float = 12.0
    trusted_header: str = ""  # lower-case header name, "" = off
    trusted_proxies: tuple[str, ...] = ()
    secure_cookie: bool = False
    checks: PasswordChecks = field(default_factory=PasswordChecks)

    @classmethod
    def from_settings(cls, s: Settings, directory: Directory | None) -> Gate:
        return cls(
            directory,
            LoginLimiter(s.login_max_failures, s.login_window_s),
            session_hours=s.session_hours,
            trusted_header=s.trusted_user_header.lower(),
            trusted_proxies=tuple(s.trusted_proxies),
            secure_cookie=s.secure_cookies,
            checks=PasswordChecks(s.login_concurrency),
        )

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    @property
    def cookie(self) -> str:
        return SECURE_COOKIE if self.secure_cookie else COOKIE

    async def start_session(self, response: Response, user: str) -> None:
        """Open a session for `user` and set its cookie on `response`: the one place the
        cookie's attributes are decided, for every way of signing in."""
        assert self.directory is not None
        token = await run_in_threadpool(self.directory.open_session, user, self.session_hours)
        response.set_cookie(
            self.cookie,
            token,
            max_age=int(self.session_hours * 3600),
            httponly=True,  # page scripts never see it
            samesite="strict",  # another site's form or fetch does not carry it (CSRF)
            secure=self.secure_cookie,
            path="/",
        )

    async def end_session(self, request: Request, response: Response) -> None:
        """Close the request's session, if any, and clear its cookie on `response`."""
        token = parse_cookies(request.headers.get("cookie", "")).get(self.cookie)
        if token and self.directory is not None:
            await run_in_threadpool(self.directory.close_session, token)
        response.delete_cookie(self.cookie, path="/", secure=self.secure_cookie)

    def identify(self, scope: Scope) -> Principal | None:
        if self.directory is None:
            return LOCAL
        headers = _headers(scope)
        if _repeated(scope, ("authorization", self.trusted_header or "authorization")):
            return None  # two answers to "who is this": believe neither
        auth = headers.get("authorization", "")
        if auth:  # a wrong token is a failure, never a fall-back to the cookie
            kind, _, token = auth.partition(" ")
            return self.directory.by_token(token.strip()) if kind.lower() == "bearer" else None
        session = parse_cookies(headers.get("cookie", "")).get(self.cookie)
        if session:
            return self.directory.by_session(session)
        if self.trusted_header and self._from_proxy(scope):
            name = headers.get(self.trusted_header, "").strip()
            return self.directory.principal(name) if name else None
        return None

    def _from_proxy(self, scope: Scope) -> bool:
        return self._trusted((scope.get("client") or ("", 0))[0])

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)

    def client_ip(self, scope: Scope) -> str:
        """The asker's address, for the per-address login limit. Behind a trusted proxy
        every request comes from the proxy, so the limit would lock everyone out at once:
        there, the right-most address in X-Forwarded-For that is not a trusted proxy
        counts (the left part of that header is whatever the client claimed)."""
        peer = client_ip(scope)
        if not self._from_proxy(scope):
            return peer
        forwarded = _headers(scope).get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        return next((h for h in reversed(hops) if not self._trusted(h)), peer)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _repeated(scope: Scope, names: tuple[str, ...]) -> bool:
    wanted = {n.encode("latin-1") for n in names}
    seen = [k.lower() for k, _ in scope.get("headers", []) if k.lower() in wanted]
    return len(seen) != len(set(seen))


def parse_cookies(header: str) -> dict[str, str]:
    """Cookies by name, skipping any malformed pair instead of dropping the whole header
    (`http.cookies.SimpleCookie` gives up on all of them for one bad cookie another app
    of the same site set). The first of two same-named cookies wins, as in browsers'
    most-specific-path-first order."""
    found: dict[str, str] = {}
    for pair in header.split(";"):
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or any(c in name for c in ' \t",\\'):
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        found.setdefault(name, value)
    return found


def client_ip(scope: Scope) -> str:
    return str((scope.get("client") or ("unknown", 0))[0])


class GateMiddleware:
    """401 for anyone unidentified, on every path but the login page. A browser asking
    for a page gets the login form with the 401; everything else a JSON error."""

    def __init__(self, app: ASGIApp, gate: Gate, login_page: Callable[[str], str]) -> None:
        self.app = app
        self.public = BodyLimit(app, PUBLIC_MAX_BODY)
        self.gate = gate
        self.login_page = login_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if (scope.get("method"), scope["path"]) in PUBLIC:
            await self.public(scope, receive, send)
            return
        principal = await run_in_threadpool(self.gate.identify, scope)
        if principal is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            wants_page = "text/html" in _headers(scope).get("accept", "")
            if scope.get("method") == "GET" and wants_page:
                await respond(send, 401, self.login_page(""), "text/html; charset=utf-8")
            else:
                await respond(send, 401, json.dumps({"detail": "sign in or send a token"}))
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


async def respond(
    send: Send,
    status: int,
    body: str,
    content_type: str = "application/json",
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    data = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """413 for a request body over `max_bytes`, before the app reads it into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = json.dumps({"detail": f"the request is larger than {self.max_bytes} bytes"})
        length = _headers(scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await respond(send, 413, too_large)
            return
        seen = 0
        refused = started = False

        async def limited_receive() -> MutableMapping[str, Any]:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    if not started:
                        await respond(send, 413, too_large)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, tracked_send)
