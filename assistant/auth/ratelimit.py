"""Login throttling: attempts per user name and per client address, in a window.

In memory, per server process: a restart forgets, which is fine for slowing down a
password guesser (each guess also costs an Argon2 hash).

An attempt is *reserved* before the password is checked and refunded when it was right,
so N guesses sent at once cannot all slip past the check while the first is still being
hashed. Reading never creates an entry, emptied entries are dropped, and the table has a
hard cap: when it is full of live entries, new names are refused (fail closed) rather
than forgetting someone's failures.
"""

from __future__ import annotations

import threading
import time
from collections import deque

MAX_ENTRIES = 50_000  # ~200 bytes each: at most ~10 MB however many names are tried


class LoginLimiter:
    def __init__(
        self,
        max_failures: int,
        window_s: float,
        per_ip_factor: int = 4,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        # One address may try several names (a shared NAT, a typo): a larger allowance.
        self.max_per_ip = max_failures * per_ip_factor
        self.max_entries = max_entries
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._attempts)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        """The key's attempts still inside the window; None (and dropped) when none."""
        q = self._attempts.get(key)
        if q is None:
            return None
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._attempts[key]
            return None
        return q

    def _keys(self, user: str, ip: str) -> tuple[tuple[str, int], tuple[str, int]]:
        return (f"user:{user.lower()}", self.max_failures), (f"ip:{ip}", self.max_per_ip)

    def _wait(self, user: str, ip: str, now: float) -> float:
        wait = 0.0
        for key, limit in self._keys(user, ip):
            q = self._recent(key, now)
            if q is not None and len(q) >= limit:
                wait = max(wait, q[-limit] + self.window_s - now)
        return wait

    def retry_after(self, user: str, ip: str) -> float:
        """Seconds until this user name or address may try again; 0 when it may now.
        Only reads: no entry is created."""
        with self._lock:
            return self._wait(user, ip, time.monotonic())

    def reserve(self, user: str, ip: str) -> float:
        """Count one attempt now, before the password is checked; 0 when it may go ahead,
        else the seconds to wait (and nothing is counted)."""
        now = time.monotonic()
        with self._lock:
            wait = self._wait(user, ip, now)
            if wait > 0:
                return wait
            new = [k for k, _ in self._keys(user, ip) if k not in self._attempts]
            if new and len(self._attempts) + len(new) > self.max_entries:
                self._purge(now)
                if len(self._attempts) + len(new) > self.max_entries:
                    return self.window_s / 10  # full of live entries: fail closed
            for key, _ in self._keys(user, ip):
                self._attempts.setdefault(key, deque()).append(now)
            return 0.0

    def failed(self, user: str, ip: str) -> None:
        """Count a failed attempt that was not reserved (a reserved one is counted)."""
        now = time.monotonic()
        with self._lock:
            for key, _ in self._keys(user, ip):
                if key in self._attempts or len(self._attempts) < self.max_entries:
                    self._attempts.setdefault(key, deque()).append(now)

    def refund(self, user: str, ip: str) -> None:
        """Give back a reserved attempt whose password was never checked."""
        with self._lock:
            for key, _ in self._keys(user, ip):
                self._pop(key)

    def succeeded(self, user: str, ip: str) -> None:
        """The password was right: forget the name's failures and refund the address's
        reserved attempt."""
        with self._lock:
            self._attempts.pop(f"user:{user.lower()}", None)
            self._pop(f"ip:{ip}")

    def _pop(self, key: str) -> None:
        q = self._attempts.get(key)
        if q:
            q.pop()
        if q is not None and not q:
            del self._attempts[key]

    def _purge(self, now: float) -> None:
        for key in list(self._attempts):
            self._recent(key, now)
