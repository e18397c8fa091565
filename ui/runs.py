"""The answer each browser session is waiting for, so Stop can reach it.

A question starts a `Run` for its session (before it waits in the queue); Stop sets the
run's flag; the answering generator checks the flag after every piece, closes the model's
stream (llama.cpp stops computing, the model's lock goes to the next in line) and keeps
what was written so far, marked as stopped. A run stopped before it reached the model
ends without asking it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Run:
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class Runs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}

    def start(self, session: str) -> Run | None:
        """A new run for `session`; None while its previous one is still going (one
        answer at a time per page: a second Enter mid-answer is ignored)."""
        with self._lock:
            current = self._runs.get(session)
            if current is not None and not current.done.is_set():
                return None
            self._runs[session] = run = Run()
            return run

    def get(self, session: str) -> Run | None:
        with self._lock:
            return self._runs.get(session)

    def stop(self, session: str) -> bool:
        """Ask the session's running answer to stop; False if none is running."""
        run = self.get(session)
        if run is None or run.done.is_set():
            return False
        run.stop.set()
        return True

    def finish(self, session: str, run: Run) -> None:
        run.done.set()
        with self._lock:
            if self._runs.get(session) is run:
                del self._runs[session]
