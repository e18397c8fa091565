"""The same directory and history on a real PostgreSQL, selected by `database_url` alone.

A throwaway cluster (Debian's PostgreSQL 15, run as the `postgres` user) listens on a Unix
socket in a temporary folder only: no TCP port, nothing on the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answering import Answer, Source
from assistant.auth import Database, Directory, Principal
from assistant.feedback import FeedbackLog, answer_record
from assistant.history import History

PG_BIN = Path("/usr/lib/postgresql/15/bin")
pytestmark = pytest.mark.slow


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL is not installed: tests/run.sh installs Debian's postgresql")
    root = tmp_path_factory.mktemp("pg")
    os.chmod(root, 0o755)
    for parent in root.parents:  # postgres must reach its folder
        if parent == Path("/"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o011)
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    shutil.chown(root, "postgres")
    shutil.chown(sock, "postgres")
    init = _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    assert init.returncode == 0, init.stderr
    options = f"-c listen_addresses='' -k {sock}"
    start = _as_postgres(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-w",
        "-l",
        str(root / "log"),
        "start",
    )
    assert start.returncode == 0, start.stderr + (root / "log").read_text()
    try:
        made = _as_postgres(str(PG_BIN / "createdb"), "-h", str(sock), "assistant")
        assert made.returncode == 0, made.stderr
        yield f"postgresql+psycopg://postgres@/assistant?host={sock}"
    finally:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")


def test_directory_and_history_work_on_postgresql(postgres_url: str):
    db = Database(postgres_url)
    assert db.engine.dialect.name == "postgresql"
    directory = Directory(db)
    directory.add_user("alice", "alice-pass-1", groups=["hr"])
    directory.grant("hr", "hr-files", "owner")
    token = directory.create_token("alice", "laptop")
    alice = directory.authenticate("alice", "alice-pass-1")
    assert alice.can_write("hr-files") and directory.by_token(token).name == "alice"
    session = directory.open_session("alice", hours=1)
    assert directory.by_session(session).name == "alice"
    assert [u.name for u in directory.users()] == ["alice"]

    history = History(db)
    src = Source(1, "/d/pay.md", "Pay", "lines 1-2", "s", 0.9, "c1", collection="hr-files")
    conv = history.record(alice, Answer("Pay?", "It is [1].", [src], False, "m"))
    assert history.get(alice, conv)["turns"][0]["sources"][0]["collection"] == "hr-files"
    assert history.get(Principal("bob"), conv) is None
    feedback = FeedbackLog(db)  # its table is created on open, on PostgreSQL too
    vote = feedback.add(alice, "down", answer_record(Answer("Pay?", "No [1].", [src], False, "m")))
    assert [f.id for f in feedback.list(Principal("root", is_admin=True), vote="down")] == [vote.id]
    assert feedback.list(Principal("bob")) == []
    assert feedback.list(alice, collection="hr-files")[0].sources[0]["source"] == "/d/pay.md"
    directory.remove_user("alice")  # cascades to tokens and sessions
    assert directory.by_token(token) is None and directory.by_session(session) is None
    assert history.delete(alice, conv)
