"""Slots of the model handed out in arrival order: a lock when the model answers one
person at a time, a first-come-first-served semaphore when it generates `slots` at once.

`threading.Lock` wakes an arbitrary waiter, so under load an unlucky asker can be overtaken
again and again. Here waiters stand in a line and only its head may take a free slot; a
waiter can be told its place in the line as it moves up.

The line is ordered by arrival: the time the question came (`arrival()`, before its
documents are searched), not the time it reached the model. Under load the searching
takes longer for some questions than others, and a question sent 0.1 s later used to reach
the line first about half of the time.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from bisect import insort
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

# Called with the waiter's place in line (1 = next), when it starts waiting and as it moves.
OnWait = Callable[[int], None]
# The watcher of whatever waits in this context when no `on_wait` is passed (see `with_places`).
WATCHER: contextvars.ContextVar[OnWait | None] = contextvars.ContextVar(
    "fifo_watcher", default=None
)
# When the question whose model call runs in this context arrived (see `in_arrival_order`).
ARRIVAL: contextvars.ContextVar[float | None] = contextvars.ContextVar("fifo_arrival", default=None)


def arrival() -> float:
    """What orders askers by when they came (`time.perf_counter()`, one clock for the
    whole process): take it when a question arrives."""
    return time.perf_counter()


def in_arrival_order(pieces: Iterator[str], ticket: float) -> Iterator[str]:
    """A model's stream, placed in the model's line by `ticket` (its question's arrival).

    The stream takes its place when it starts, on its first step: that step runs in a
    context holding the ticket; later steps may run in any thread."""
    context = contextvars.copy_context()  # the caller's, so its WATCHER is told the place
    context.run(ARRIVAL.set, ticket)
    try:
        first = context.run(next, pieces, None)
        if first is not None:
            yield first
            yield from pieces
    finally:  # closed early (the asker left): the model's stream stops and frees its slot
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


class FifoLock:
    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self._cond = threading.Condition()
        self._line: list[tuple[float, object]] = []  # (arrival, waiter), earliest first
        self._busy = 0  # slots taken

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def waiting(self) -> int:
        return len(self._line)

    def acquire(self, on_wait: OnWait | None = None) -> None:
        """Take a slot, waiting behind everyone who came first (by `ARRIVAL`, else now).
        `on_wait` is called (with the lock's mutex held: keep it quick) with the place in
        line, and again as it changes."""
        on_wait = on_wait or WATCHER.get()
        ticket = ARRIVAL.get() or arrival()
        with self._cond:
            if self._busy < self.slots and not self._line:
                self._busy += 1
                return
            me = (ticket, object())
            insort(self._line, me, key=lambda waiter: waiter[0])
            place = self._line.index(me) + 1
            if on_wait:
                on_wait(place)
            self._cond.notify_all()  # anyone who came later is now one place further back
            while self._busy >= self.slots or self._line[0] is not me:
                self._cond.wait()
                now = self._line.index(me) + 1
                if on_wait and now != place:
                    place = now
                    on_wait(place)
            self._line.pop(0)
            self._busy += 1
            self._cond.notify_all()  # everyone behind moved up one place

    def release(self) -> None:
        with self._cond:
            if self._busy == 0:
                raise RuntimeError("release of a FifoLock slot that was not taken")
            self._busy -= 1
            self._cond.notify_all()  # the head of the line takes it; the rest move up

    @contextmanager
    def held(self, on_wait: OnWait | None = None) -> Iterator[None]:
        self.acquire(on_wait)
        try:
            yield
        finally:
            self.release()


@dataclass(frozen=True)
class Queued:
    place: int  # 1: next to be answered


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def with_places(pieces: Iterable[str]) -> Iterator[str | Queued]:
    """The pieces of an answer, with `Queued(place)` items while the model's line holds it
    back. The answer is produced in a worker thread, because a caller blocked in the line
    could not otherwise say anything; closing this iterator early stops the worker."""
    events: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    done = object()

    def work() -> None:
        WATCHER.set(lambda place: events.put(Queued(place)))
        source = iter(pieces)
        try:
            for piece in source:
                events.put(piece)
                if stop.is_set():
                    break
        except BaseException as exc:  # re-raised in the caller's thread
            events.put(_Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if close:
                close()  # a generator holding the model's lock lets go of it here
            events.put(done)

    threading.Thread(target=work, name="answer", daemon=True).start()
    try:
        while (item := events.get()) is not done:
            if isinstance(item, _Failed):
                raise item.error
            yield cast("str | Queued", item)  # all the worker puts, besides _Failed and done
    finally:
        stop.set()
