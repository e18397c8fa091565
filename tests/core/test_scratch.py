"""Scratch folders (a mail's attachments, an upload, an export, the engine's socket) do not
outlive a killed process: the next one of their kind removes them, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from assistant.answering import Answer
from assistant.auth import Database, Principal
from assistant.history import History
from assistant.scratch import scratch_dir, sweep
from ui.history import EXPORT_KEEP_S, HistoryHandlers


@pytest.fixture
def tmp(tmp_path, monkeypatch) -> Path:
    """The system's temp dir, for this test alone."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _gone_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _made(tmp: Path, name: str) -> Path:
    path = tmp / name
    path.mkdir()
    (path / "report.pdf").write_bytes(b"private")
    return path


def test_a_dead_process_s_folders_go_with_the_next_one_of_their_kind(tmp):
    dead = _gone_pid()
    left = _made(tmp, f"assistant-attached-{dead}-abc")
    running = _made(tmp, "assistant-attached-1-abc")  # pid 1 is alive
    other_kind = _made(tmp, f"assistant-upload-{dead}-abc")
    before_pids = _made(tmp, "assistant-attached-k2v9x_qz")  # an earlier version's name

    fresh = scratch_dir("attached")

    assert fresh.is_dir() and fresh.name.startswith(f"assistant-attached-{os.getpid()}-")
    assert oct(fresh.stat().st_mode & 0o777) == "0o700"
    assert not left.exists()
    assert running.exists() and other_kind.exists() and before_pids.exists()
    assert fresh.exists()  # its own, in use: kept by the next sweep too
    assert sweep("attached") == []


def test_a_symlink_or_a_file_named_like_one_is_never_followed(tmp):
    dead = _gone_pid()
    target = _made(tmp, "precious")
    (tmp / f"assistant-attached-{dead}-link").symlink_to(target)
    (tmp / f"assistant-attached-{dead}-file").write_text("not a folder")

    assert sweep("attached") == []

    assert (target / "report.pdf").read_bytes() == b"private"
    assert (tmp / f"assistant-attached-{dead}-file").exists()


def test_own_folders_go_once_older_than_asked(tmp):
    old = scratch_dir("export")
    os.utime(old, (old.stat().st_atime - 1000, old.stat().st_mtime - 1000))
    recent = scratch_dir("export")

    scratch_dir("export", keep_own_for=600)

    assert not old.exists() and recent.exists()


def test_an_export_removes_the_earlier_exports_once_old(tmp, tmp_path):
    history = History(Database(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    alice = Principal("alice")
    conv = history.record(alice, Answer("Leave?", "Twenty-five days.", [], False, "m.gguf"))
    handlers = HistoryHandlers(history, lambda _request: alice)

    first, _ = handlers.export_md(conv, None)  # type: ignore[arg-type]
    first_dir = Path(first["value"]).parent
    assert "Twenty-five days." in Path(first["value"]).read_text()
    handlers.export_json(conv, None)  # type: ignore[arg-type]
    assert first_dir.exists()  # still young: the page may be fetching it
    stamp = first_dir.stat().st_mtime - EXPORT_KEEP_S - 1
    os.utime(first_dir, (stamp, stamp))
    handlers.export_md(conv, None)  # type: ignore[arg-type]

    assert not first_dir.exists()
    assert len(list(tmp.glob("assistant-export-*"))) == 2


def test_a_process_that_exits_takes_its_own_along(tmp_path):
    """An export is kept for a while after it is written; a server that stops does not leave
    it behind (another process's folders stay: it is alive)."""
    other = _made(tmp_path, "assistant-export-1-abc")
    code = (
        "from assistant.scratch import scratch_dir\n"
        "kept = scratch_dir('export', keep_own_for=900)\n"
        "(kept / 'chat.md').write_text('private')\n"
        "print(kept)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert Path(done.stdout.strip()).parent == tmp_path
    assert not Path(done.stdout.strip()).exists()
    assert other.exists()
