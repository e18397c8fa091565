"""Uploads, bounded per user. Gradio keeps every file sent to `/gradio_api/upload` in its
temp folder until it is handled or cleaned up, so any signed-in user could fill the disk
(on Kubernetes: the pod's emptyDir, and the pod is evicted). Here only users who may
write somewhere may send files there at all (`POST /api/documents` checks the collection
itself, answering 404 for one the user may not read), and each user may upload at most
`quota_bytes` within `window_s`, counted by `Content-Length` before a byte is read (a
chunked body is let in while any quota is left and counted as it streams; the gate's
`BodyLimit` caps one request either way)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import MutableMapping
from typing import Any

from api.gate import ASGIApp, Receive, Scope, Send, _headers, respond
from assistant.auth import Principal

GRADIO_UPLOAD = ("POST", "/gradio_api/upload")
UPLOAD_ROUTES = frozenset({GRADIO_UPLOAD, ("POST", "/api/documents")})


class UploadQuota:
    def __init__(self, app: ASGIApp, quota_bytes: int, window_s: float = 3600.0) -> None:
        self.app = app
        self.quota_bytes = quota_bytes
        self.window_s = window_s
        self._sent: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope.get("method"), scope["path"]) not in UPLOAD_ROUTES:
            await self.app(scope, receive, send)
            return
        who = scope.get("state", {}).get("principal")
        if not isinstance(who, Principal):
            await respond(send, 401, _detail("sign in or send a token"))
            return
        gradio = (scope.get("method"), scope["path"]) == GRADIO_UPLOAD
        if gradio and not (who.is_admin or who.owned):
            await respond(send, 403, _detail("you may not upload to any collection"))
            return
        length = _headers(scope).get("content-length", "")
        wait = self.take(who.name, int(length) if length.isdigit() else 0)
        if wait > 0:
            message = f"upload quota used up: {self.quota_bytes / 2**20:.0f} MB an hour"
            headers = [(b"retry-after", str(math.ceil(wait)).encode())]
            await respond(send, 429, _detail(message), headers=headers)
            return
        if length.isdigit():
            await self.app(scope, receive, send)
            return

        async def counted() -> MutableMapping[str, Any]:  # chunked: count what arrives
            message = await receive()
            if message["type"] == "http.request":
                self.take(who.name, len(message.get("body", b"")), force=True)
            return message

        await self.app(scope, counted, send)

    def take(self, user: str, size: int, *, force: bool = False) -> float:
        """Count `size` bytes for `user`; 0 when within the quota (or `force`d: bytes that
        arrived already), else the seconds until enough of it frees up (and nothing is
        counted)."""
        now = time.monotonic()
        with self._lock:
            sent = self._sent.get(user, deque())
            while sent and sent[0][0] <= now - self.window_s:
                sent.popleft()
            used = sum(n for _, n in sent)
            if not force and (used + size > self.quota_bytes or used >= self.quota_bytes):
                if not sent:
                    return self.window_s  # larger than the whole quota
                freed, wait = used + size - self.quota_bytes, 0.0
                for at, n in sent:
                    freed -= n
                    wait = at + self.window_s - now
                    if freed <= 0:
                        break
                return max(wait, 1.0)
            sent.append((now, size))
            self._sent[user] = sent
            return 0.0


def _detail(message: str) -> str:
    return json.dumps({"detail": message})
