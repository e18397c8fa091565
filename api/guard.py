"""Two checks on where a request comes from, before the gate looks at who sent it.

`HostGuard` (DNS rebinding): a web page the user opens can point its own name at
127.0.0.1 and then talk to this server as if it were its own site; its requests carry
that name in `Host`. Only names this server answers to pass: IP addresses (a rebinding
page always uses a name), `localhost`, this machine's name and `allowed_hosts`.

`OriginGuard` (CSRF, login CSRF, cross-site websockets): a state-changing request sent
by a browser must come from this origin. Browsers say where a request comes from in
`Sec-Fetch-Site` (which pages cannot forge) and `Origin`; a request with neither is not
a browser's (curl, an SDK), and carries no ambient cookie to abuse.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from api.gate import ASGIApp, Receive, Scope, Send, _headers, respond

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Probes call these by the pod's address or any name; they reveal and change nothing.
PROBES = frozenset({"/healthz", "/readyz"})


def host_name(host: str) -> str:
    """`Host` without its port, lower-case, IPv6 brackets removed."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def default_hosts(bind: str) -> set[str]:
    """The names of the address `serve` binds to: loopback's, plus this machine's own
    name when it listens beyond loopback."""
    names = {"localhost"}
    if not (bind == "localhost" or (_is_ip(bind) and ipaddress.ip_address(bind).is_loopback)):
        hostname = socket.gethostname().lower()
        names |= {hostname, hostname.split(".")[0]}
        if not _is_ip(bind):
            names.add(bind.lower())
    return names


class HostGuard:
    def __init__(self, app: ASGIApp, bind: str, allowed: Iterable[str] = ()) -> None:
        self.app = app
        extra = {a.strip().lower() for a in allowed if a.strip()}
        self.any = "*" in extra
        self.names = default_hosts(bind) | {a for a in extra if not a.startswith("*.")}
        self.suffixes = tuple(a[1:] for a in extra if a.startswith("*."))  # ".example.org"

    def allows(self, host: str) -> bool:
        name = host_name(host)
        return (
            self.any
            or not name  # no Host at all (HTTP/1.0): not a browser's request
            or _is_ip(name)
            or name in self.names
            or name.endswith(".localhost")
            or name.endswith(self.suffixes or ("\0",))
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] not in PROBES:
            host = _headers(scope).get("host", "")
            if not self.allows(host):
                detail = f"this server does not answer to {host!r} (see allowed_hosts)"
                await _refuse(scope, send, 400, detail)
                return
        await self.app(scope, receive, send)


def cross_origin(scope: Scope) -> str | None:
    """Why this request looks cross-origin, or None when it is fine."""
    headers = _headers(scope)
    if scope["type"] == "http" and scope.get("method", "GET") in SAFE_METHODS:
        return None
    site = headers.get("sec-fetch-site")
    if site is not None:
        return None if site in ("same-origin", "none") else f"Sec-Fetch-Site: {site}"
    origin = headers.get("origin")
    if origin is None:
        return None
    own = headers.get("host", "").lower()
    if origin == "null" or urlsplit(origin).netloc.lower() != own:
        return f"Origin: {origin}"
    return None


class OriginGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            reason = cross_origin(scope)
            if reason is not None:
                await _refuse(scope, send, 403, f"cross-site request refused ({reason})")
                return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
    else:
        await respond(send, status, json.dumps({"detail": detail}))
