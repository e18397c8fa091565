"""`assistant ingest --watch`: keep a collection matching folders as files are added,
changed, renamed and removed.

Each burst of changes (watchfiles, debounced) triggers the ordinary sync with `prune`
(`ingest_paths`): unchanged files cost a hash, a renamed file keeps its vectors, a removed
one is removed. The sync never deletes under a watched folder that is missing or empty (an
unmounted share, a folder being replaced): it says so and waits for the folder to come
back. The systemd timer and Kubernetes job in deploy/ remain the scheduled alternative.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.indexer import IngestReport

Sync = Callable[[bool], IngestReport]  # sync(prune) -> the report of one pass


def _usable(root: Path) -> bool:
    """A folder that exists and holds something (a file is usable when it exists)."""
    if not root.is_dir():
        return root.exists()
    try:
        with os.scandir(root) as entries:
            return any(True for _ in entries)
    except OSError:
        return False


def _sync(roots: Sequence[Path], sync: Sync, say: Callable[[str], None]) -> IngestReport:
    gone = [r for r in roots if not _usable(r)]
    for root in gone:
        say(f"{root} is missing or empty: nothing under it is removed until it is back")
    return sync(not gone)


def _state(roots: Sequence[Path]) -> tuple[tuple[int, int] | None, ...]:
    """Which roots exist, and as which inode: a folder replaced by another (moved back
    into place) must be watched anew."""
    out: list[tuple[int, int] | None] = []
    for root in roots:
        try:
            st = root.stat()
            out.append((st.st_dev, st.st_ino))
        except OSError:
            out.append(None)
    return tuple(out)


def watch_paths(
    paths: Sequence[Path],
    sync: Sync,
    *,
    say: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    debounce_ms: int = 1500,
    poll_s: float = 5.0,
) -> None:
    """Sync now, then after every burst of changes and whenever a watched path comes, goes
    or is replaced, until `stop` is set or Ctrl-C."""
    import watchfiles

    logging.getLogger("watchfiles").setLevel(logging.ERROR)  # its Ctrl-C notice is noise
    stop = stop or threading.Event()
    roots = [Path(os.path.abspath(p)) for p in paths]
    state = _state(roots)
    _sync(roots, sync, say)
    while not stop.is_set():
        present = [r for r, st in zip(roots, state, strict=True) if st is not None]
        if not present:
            stop.wait(poll_s)
        else:
            try:
                for changes in watchfiles.watch(
                    *present,
                    debounce=debounce_ms,
                    stop_event=stop,
                    rust_timeout=int(poll_s * 1000),
                    yield_on_timeout=True,
                    raise_interrupt=False,
                ):
                    if changes and _state(roots) == state:
                        _sync(roots, sync, say)
                    if _state(roots) != state:
                        break  # a path came, went or was replaced: re-sync, watch anew
                else:
                    return  # stopped, or interrupted (Ctrl-C)
            except OSError as exc:  # a watched folder vanished under the watcher
                say(f"watching paused ({exc.strerror or exc}); retrying in {poll_s:.0f} s")
                stop.wait(poll_s)
        if not stop.is_set() and _state(roots) != state:
            state = _state(roots)
            _sync(roots, sync, say)
