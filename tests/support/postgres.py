"""A throwaway PostgreSQL cluster (Debian's PostgreSQL 15, run as the `postgres` user)
listening on a Unix socket in a temporary folder only: no TCP port, nothing on the network.
Use the fixture by importing it: `from support.postgres import postgres_url`; `cluster`
runs one outside pytest (bench/retrieval_bench.py --server)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=120
    )


@contextmanager
def cluster(root: Path) -> Iterator[str]:
    """A cluster in `root` (made with initdb unless it holds one already, so a bench can
    keep its data), started on a socket there; yields the database URL, then stops it."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError("PostgreSQL is not installed: tests/run.sh installs Debian's postgresql")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    for parent in root.parents:  # postgres must reach its folder
        if parent == Path("/"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o011)
    data, sock = root / "data", root / "sock"
    fresh = not data.exists()
    sock.mkdir(exist_ok=True)
    shutil.chown(root, "postgres")
    shutil.chown(sock, "postgres")
    if fresh:
        initdb = str(PG_BIN / "initdb")
        init = _as_postgres(initdb, "-D", str(data), "-A", "trust", "-U", "postgres")
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
        if fresh:
            made = _as_postgres(str(PG_BIN / "createdb"), "-h", str(sock), "assistant")
            assert made.returncode == 0, made.stderr
        yield f"postgresql+psycopg://postgres@/assistant?host={sock}"
    finally:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with cluster(tmp_path_factory.mktemp("pg")) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))
