"""The web layer's part of the audit trail, as one ASGI middleware inside the gate, so no
route needs to know of it:

- it names the actor (the signed-in user and their address) for everything the request
  does, e.g. a question recorded by `AuditedAssistant`;
- it records sign-in (success, wrong password, throttled) and sign-out with the address,
  watching `/login` and `/logout` from outside (the form's user name and the response's
  status), so the login code stays as it is;
- it records each document downloaded through the API, and each refused upload or
  deletion, with the response's status as the outcome (a 404 is a refused or missing
  document); uploads and deletions that happen are recorded by `Uploads.on_event`, for
  the API and the page alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool

from api.gate import COOKIE, ASGIApp, Gate, Receive, Scope, Send, _headers
from assistant.audit import Trail, acting_as
from assistant.auth import Principal

FORM_LIMIT = 64 * 1024  # a login form is a few hundred bytes; more is not a login
DOCUMENTS = "/api/documents"
ACTIONS = {
    ("GET", "/api/documents/download"): "document.download",
    ("POST", DOCUMENTS): "document.upload",
    ("DELETE", DOCUMENTS): "document.delete",
}
Finish = Callable[[int], Awaitable[None]]
LOGIN_OUTCOMES = {303: "ok", 302: "ok", 401: "failed", 429: "throttled", 503: "unavailable"}


class AuditMiddleware:
    def __init__(self, app: ASGIApp, gate: Gate, trail: Trail) -> None:
        self.app, self.gate, self.trail = app, gate, trail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        address = self.gate.client_ip(scope)
        who = scope.get("state", {}).get("principal")
        if isinstance(who, Principal):
            acting_as(who.name, address)
        method, path = scope.get("method", ""), scope["path"]
        if method == "POST" and path == "/login" and self.gate.enabled:
            await self._login(scope, receive, send, address)
        elif method == "POST" and path == "/logout":
            await self._logout(scope, receive, send, address)
        elif (method, path) in ACTIONS and isinstance(who, Principal):
            await self._document(ACTIONS[method, path], scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _login(self, scope: Scope, receive: Receive, send: Send, address: str) -> None:
        body, replay = await _buffered(receive)
        form = parse_qs(body.decode("utf-8", "replace")) if len(body) <= FORM_LIMIT else {}
        name = (form.get("username") or [""])[0][:128]

        async def finish(status: int) -> None:
            outcome = LOGIN_OUTCOMES.get(status, f"status {status}")
            await run_in_threadpool(
                self.trail.record, "login", name, outcome=outcome, actor=name, address=address
            )

        await _run(self.app, scope, replay, send, finish)

    async def _logout(self, scope: Scope, receive: Receive, send: Send, address: str) -> None:
        token = _cookie(scope)
        directory = self.gate.directory
        who = await run_in_threadpool(directory.by_session, token) if token and directory else None

        async def finish(_status: int) -> None:
            if who is not None:
                await run_in_threadpool(
                    self.trail.record, "logout", who.name, actor=who.name, address=address
                )

        await _run(self.app, scope, receive, send, finish)

    async def _document(self, action: str, scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
        collection = (query.get("collection") or [""])[0]
        source = (query.get("source") or [""])[0]
        target = f"{collection}/{source}" if source else collection

        async def finish(status: int) -> None:
            detail: dict[str, Any] = {"collection": collection, "status": status}
            if source:
                detail["source"] = source
            outcome = "ok" if status < 300 else ("denied" if status in (403, 404) else "failed")
            if outcome == "ok" and action != "document.download":
                return  # a done upload or deletion is recorded where it happens (uploads.py)
            await run_in_threadpool(self.trail.record, action, target, outcome=outcome, **detail)

        await _run(self.app, scope, receive, send, finish)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole (small, size-limited by BodyLimit) body, and a receive that replays it."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), False

    async def replay() -> MutableMapping[str, Any]:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _run(app: ASGIApp, scope: Scope, receive: Receive, send: Send, finish: Finish) -> None:
    """Run the app; `finish(status)` is awaited before the response starts going out, so
    the record exists by the time the client has the answer."""
    status, done = 500, False

    async def watching(message: MutableMapping[str, Any]) -> None:
        nonlocal status, done
        if message["type"] == "http.response.start" and not done:
            status, done = int(message["status"]), True
            await finish(status)
        await send(message)

    await app(scope, receive, watching)
    if not done:  # the app ended without a response (a disconnect)
        await finish(status)


def _cookie(scope: Scope) -> str:
    for part in _headers(scope).get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == COOKIE:
            return value
    return ""
