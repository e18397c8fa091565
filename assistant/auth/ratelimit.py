"""Login throttling: failed attempts per user name and per client address, in a window.

In memory, per server process: a restart forgets, which is fine for slowing down a
password guesser (each guess also costs an Argon2 hash).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginLimiter:
    def __init__(self, max_failures: int, window_s: float, per_ip_factor: int = 4) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        # One address may try several names (a shared NAT, a typo): a larger allowance.
        self.max_per_ip = max_failures * per_ip_factor
        self._fails: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails[key]
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def retry_after(self, user: str, ip: str) -> float:
        """Seconds until this user name or address may try again; 0 when it may now."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key, limit in (
                (f"user:{user.lower()}", self.max_failures),
                (f"ip:{ip}", self.max_per_ip),
            ):
                q = self._recent(key, now)
                if len(q) >= limit:
                    wait = max(wait, q[-limit] + self.window_s - now)
        return wait

    def failed(self, user: str, ip: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"user:{user.lower()}", f"ip:{ip}"):
                self._recent(key, now).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._fails.pop(f"user:{user.lower()}", None)
