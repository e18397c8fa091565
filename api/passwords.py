"""Password checks, bounded: each Argon2id check takes ~64 MiB and a core for a few
hundred milliseconds, so a login flood must neither exhaust memory nor take the worker
threads that identify every other request. At most `limit` checks run at once, on
threads of their own (never AnyIO's shared pool); one more is refused at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Every password-check slot is taken: answer 503 and let the client retry."""


class PasswordChecks:
    def __init__(self, limit: int = 2) -> None:
        self.limit = limit
        self._running = 0  # touched only on the event loop's thread
        self._pool = ThreadPoolExecutor(limit, thread_name_prefix="password-check")

    @property
    def running(self) -> int:
        return self._running

    async def run(self, check: Callable[..., T], *args: object) -> T:
        """`check(*args)` on a password thread; `Busy` when all `limit` are in use."""
        if self._running >= self.limit:
            raise Busy
        self._running += 1
        loop = asyncio.get_running_loop()
        future = self._pool.submit(check, *args)
        # Freed when the check ends, not when the asker hangs up: a client that
        # disconnects at once must not let checks pile up behind the pool.
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._release))
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        self._running -= 1
