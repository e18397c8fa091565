"""A throwaway PostgreSQL cluster (Debian's PostgreSQL 15, run as the `postgres` user)
listening on a Unix socket in a temporary folder only: no TCP port, nothing on the network.
Use the fixture by importing it: `from support.postgres import postgres_url`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


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
