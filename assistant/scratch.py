"""Scratch folders in the system's temp dir, for people's data held for a moment: a mail's
attachments being indexed, an upload being read, a conversation being exported, the model
engine's socket.

Each is named after the process that made it (`assistant-<kind>-<pid>-<random>`) and is
removed by it when done, or at the latest when it exits. A process killed before that
(SIGKILL, the OOM killer, a power cut) cannot clean up, and /tmp may outlive it for months;
so every new scratch folder first removes those of its kind whose process is gone. Only
folders this user owns are touched, never through a symlink.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

_cleaned_at_exit: set[int] = set()  # the processes (a forked child is another) registered


def scratch_dir(kind: str, *, keep_own_for: float | None = None) -> Path:
    """A new private (0700) folder for `kind`, after removing the folders of that kind left
    by processes that are gone, and, with `keep_own_for` (seconds), this process's own
    ones older than that (files it hands to someone else to read later, like an export)."""
    sweep(kind, keep_own_for=keep_own_for)
    if os.getpid() not in _cleaned_at_exit:
        _cleaned_at_exit.add(os.getpid())
        atexit.register(_remove_own)
    return Path(tempfile.mkdtemp(prefix=f"assistant-{kind}-{os.getpid()}-"))


def sweep(kind: str, *, keep_own_for: float | None = None) -> list[Path]:
    """Remove the stale scratch folders of `kind` (see `scratch_dir`); returns them."""
    removed = []
    now = time.time()
    for path, pid, mtime in _folders(f"assistant-{kind}-*-*"):
        own = pid == os.getpid()
        expired = own and keep_own_for is not None and now - mtime > keep_own_for
        if expired or (not own and not _alive(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _remove_own() -> None:
    for path, pid, _ in _folders("assistant-*-*-*"):
        if pid == os.getpid():
            shutil.rmtree(path, ignore_errors=True)


def _folders(pattern: str) -> Iterator[tuple[Path, int, float]]:
    """This user's scratch folders matching `pattern` (no symlink, no file, none named
    before pids were): each with its process id and last change."""
    for path in Path(tempfile.gettempdir()).glob(pattern):
        pid = path.name.rsplit("-", 2)[-2]  # the random part has no dash
        if not pid.isdigit():
            continue
        try:
            st = path.lstat()
        except OSError:
            continue  # gone already (another process swept it)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid():
            yield path, int(pid), st.st_mtime


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
