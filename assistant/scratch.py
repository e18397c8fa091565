"""Scratch folders in the system's temp dir, for people's data held for a moment: a mail's
attachments being indexed, an upload being read, a conversation being exported, the model
engine's socket.

Each is named after the process that made it (`assistant-<kind>-<pid>-<random>`) and is
removed by it when done. A process killed before that (SIGKILL, the OOM killer, a power
cut) cannot clean up, and /tmp may outlive it for months; so every new scratch folder first
removes those of its kind whose process is gone. Only folders this user owns are touched,
never through a symlink.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from pathlib import Path


def scratch_dir(kind: str, *, keep_own_for: float | None = None) -> Path:
    """A new private (0700) folder for `kind`, after removing the folders of that kind left
    by processes that are gone, and, with `keep_own_for` (seconds), this process's own
    ones older than that (files it hands to someone else to read later, like an export)."""
    sweep(kind, keep_own_for=keep_own_for)
    return Path(tempfile.mkdtemp(prefix=f"assistant-{kind}-{os.getpid()}-"))


def sweep(kind: str, *, keep_own_for: float | None = None) -> list[Path]:
    """Remove the stale scratch folders of `kind` (see `scratch_dir`); returns them."""
    removed = []
    now = time.time()
    for path in Path(tempfile.gettempdir()).glob(f"assistant-{kind}-*-*"):
        pid = _owner_pid(path, kind)
        if pid is None:
            continue
        try:
            st = path.lstat()
        except OSError:
            continue  # gone already (another process swept it)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        own = pid == os.getpid()
        expired = own and keep_own_for is not None and now - st.st_mtime > keep_own_for
        if expired or (not own and not _alive(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _owner_pid(path: Path, kind: str) -> int | None:
    pid = path.name[len(f"assistant-{kind}-") :].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
