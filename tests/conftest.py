"""Shared fixtures: real Chroma, the real packaged embedder and model, the real seed corpus.

Outbound sockets are refused for the whole session except to loopback: a test that
reaches off the machine fails instead of passing by luck. (`tests/run.sh` goes further
and runs the suite in a network namespace with loopback only.)
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import settings

# Re-exported: tests written as `from conftest import make_settings` keep working; new
# tests import these from `support.paths` (helpers live in tests/support/).
from support.chroma import chroma  # noqa: F401  (a fixture: a real `chroma run`)
from support.paths import ROOT, SEEDS, make_settings
from support.postgres import postgres_url  # noqa: F401  (a fixture: a throwaway PostgreSQL)

import assistant  # noqa: F401  (switches telemetry off before chromadb/gradio import)
from assistant.factory import Components

__all__ = ["ROOT", "SEEDS", "make_settings"]

# The property and fuzz tests draw the same examples on every run (derandomized: seeded by
# each test), so a run's verdict is about the change, not the luck of the draw: a new
# parser bug found at random in CI once blocked an unrelated change. Hunting for new cases
# is its own job: `just fuzz` (the `explore` profile: fresh random examples, and ten times
# as many, `support/fuzz.py`); add what it finds as a regression test.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
# Under --import-mode=importlib pytest loads this file under its own module name; a test
# doing `import conftest` gets this same module, not a second copy with a second guard.
sys.modules.setdefault("conftest", sys.modules[__name__])


def _live_ollama_addresses() -> set[str]:
    """A live Ollama under test (OLLAMA_HOST) is the one host off loopback a test may reach."""
    host = os.environ.get("OLLAMA_HOST")
    if not host:
        return set()
    name = urlsplit(host if "//" in host else f"http://{host}").hostname or ""
    try:
        return {name} | {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    except OSError:
        return {name}


_ALLOWED = {"localhost"} | _live_ollama_addresses()
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback_only(address: object) -> None:
    if not isinstance(address, tuple):  # AF_UNIX paths are local by definition
        return
    host = str(address[0])
    try:
        allowed = ipaddress.ip_address(host).is_loopback
    except ValueError:
        allowed = False
    if not (allowed or host in _ALLOWED):
        raise ConnectionRefusedError(f"test tried to reach {host}: only loopback is allowed")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _loopback_only(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _loopback_only(address)
    return _real_connect_ex(self, address)


# Replacing the methods is the point: every connect in the process goes through the guard.
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    for name in list(os.environ):
        if name.startswith("ASSISTANT_") and name not in (
            "ASSISTANT_OLLAMA_MODEL",
            "ASSISTANT_OLLAMA_EMBED_MODEL",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path_factory.getbasetemp() / "none.toml"))


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Components]:
    """One store with the seed corpus indexed, shared by read-only tests (indexing is slow)."""
    from ingest.indexer import ingest_paths

    parts = Components(make_settings(tmp_path_factory.mktemp("seeded")))
    s = parts.settings
    report = ingest_paths(
        [SEEDS], parts.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap
    )
    assert report.counts["added"] == 5, report.to_dict()
    yield parts


@pytest.fixture
def fresh(tmp_path: Path) -> Components:
    """An empty store of its own, for tests that write."""
    return Components(make_settings(tmp_path / "data"))
