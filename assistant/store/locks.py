"""The per-collection writer lock of one machine (a flock beside the store)."""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError


def lock_collection(path: Path, collection: str) -> Any:
    """An exclusive lock on one collection, held for a writer's life (flock: the kernel
    drops it when the process dies, even by SIGKILL). Returns a handle to close()."""
    locks = path / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(collection.encode()).hexdigest()[:16]
    handle = open(locks / f"{digest}.lock", "w")  # noqa: SIM115  (held until close())
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise AssistantError(
            f"another ingest into collection '{collection}' is running; wait for it to finish"
        ) from exc
    return handle
