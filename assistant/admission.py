"""How many questions may be in flight: each one waiting for the model holds a worker
thread (and, on llama.cpp, a place in the model's one line), so the line is bounded, and
one user cannot fill it alone."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from assistant.errors import AssistantError

SECONDS_PER_PLACE = 5  # a rough answer time, for Retry-After


class LineFull(AssistantError):
    """Every place in line is taken: come back later (HTTP 503)."""

    def __init__(self, place: int) -> None:
        super().__init__(
            f"the assistant is busy: {place - 1} questions are in line; try again shortly"
        )
        self.place = place
        self.retry_after = min(120, SECONDS_PER_PLACE * place)


class TooManyOfYours(AssistantError):
    """This user has as many questions in flight as allowed (HTTP 429)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"you have {limit} questions being answered already; wait for one to finish"
        )
        self.retry_after = SECONDS_PER_PLACE


class Admission:
    def __init__(self, max_in_flight: int, per_user: int) -> None:
        self.max_in_flight = max_in_flight
        self.per_user = per_user
        self._mine: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return sum(self._mine.values())

    def enter(self, user: str) -> None:
        """Take a place for `user`'s question, or raise `TooManyOfYours` / `LineFull`."""
        with self._lock:
            if self._mine[user] >= self.per_user:
                raise TooManyOfYours(self.per_user)
            total = sum(self._mine.values())
            if total >= self.max_in_flight:
                raise LineFull(total + 1)
            self._mine[user] += 1

    def leave(self, user: str) -> None:
        with self._lock:
            self._mine[user] -= 1
            if self._mine[user] <= 0:
                del self._mine[user]

    @contextmanager
    def place(self, user: str) -> Iterator[None]:
        self.enter(user)
        try:
            yield
        finally:
            self.leave(user)
