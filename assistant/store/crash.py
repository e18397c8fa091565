"""A test hook that kills the process at a named step of a write (see `crash_point`)."""

from __future__ import annotations

import os
import signal


def crash_point(event: str) -> None:
    """Test hook: `ASSISTANT_TEST_CRASH_AFTER=EVENT[:N]` SIGKILLs this process the Nth time
    (default 1st) EVENT happens, so tests can prove a kill at that moment loses nothing.
    Events: intent, upsert, batch, flip, delete-old, remove-intent, remove-flip. Unset: a no-op."""
    spec = os.environ.get("ASSISTANT_TEST_CRASH_AFTER")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != event:
        return
    _CRASH_COUNTS[event] = _CRASH_COUNTS.get(event, 0) + 1
    if _CRASH_COUNTS[event] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


_CRASH_COUNTS: dict[str, int] = {}
