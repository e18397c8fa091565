"""Uploads, bounded per user. Gradio keeps every file sent to `/gradio_api/upload` in its
temp folder until it is handled or cleaned up, so any signed-in user could fill the disk
(on Kubernetes: the pod's emptyDir, and the pod is evicted). Here only users who may
write somewhere may upload at all, and each may send at most `quota_bytes` within
`window_s` (by `Content-Length`, checked before a byte is read; the gate's `BodyLimit`
already caps one request)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque

from api.gate import ASGIApp, Receive, Scope, Send, _headers, respond
from assistant.auth import Principal

UPLOAD_ROUTES = frozenset({("POST", "/gradio_api/upload"), ("POST", "/api/documents")})


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
        if not isinstance(who, Principal) or not (who.is_admin or who.owned):
            await respond(send, 403, _detail("you may not upload to any collection"))
            return
        length = _headers(scope).get("content-length", "")
        if not length.isdigit():
            await respond(send, 411, _detail("an upload needs a Content-Length"))
            return
        wait = self.take(who.name, int(length))
        if wait > 0:
            message = f"upload quota used up: {self.quota_bytes / 2**20:.0f} MB an hour"
            headers = [(b"retry-after", str(math.ceil(wait)).encode())]
            await respond(send, 429, _detail(message), headers=headers)
            return
        await self.app(scope, receive, send)

    def take(self, user: str, size: int) -> float:
        """Count `size` bytes for `user`; 0 when within the quota, else the seconds until
        enough of it frees up (and nothing is counted)."""
        now = time.monotonic()
        with self._lock:
            sent = self._sent.get(user, deque())
            while sent and sent[0][0] <= now - self.window_s:
                sent.popleft()
            used = sum(n for _, n in sent)
            if used + size > self.quota_bytes:
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
