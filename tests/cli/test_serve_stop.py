"""`assistant serve` stops cleanly on the signals a terminal (Ctrl+C), systemd and Docker
(`stop`: SIGTERM) send: exit status 0, no traceback, nothing of it left in the temp dir."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from support.cli import clean_env
from support.net import free_port
from support.paths import ASSISTANT


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_on_a_signal_with_status_0_and_removes_its_temp_files(
    tmp_path: Path, sig: signal.Signals
):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    env = clean_env(tmp_path / "data", TMPDIR=str(tmp), ASSISTANT_PORT=str(port))
    with subprocess.Popen([ASSISTANT, "serve"], env=env, stderr=subprocess.PIPE, text=True) as proc:
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.communicate()[1]
                    time.sleep(0.5)
            else:
                raise AssertionError("the server did not start")
            # the engine's socket lives in a private folder while the server runs ...
            assert list(tmp.glob("assistant-*")), list(tmp.iterdir())
            proc.send_signal(sig)
            stderr = proc.communicate(timeout=60)[1]
        finally:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and stderr.rstrip().endswith("Stopped."), stderr
    assert "Loaded 1 collection(s) for questions in" in stderr  # before it listened
    # ... and goes with it (with Python's default SIGTERM it stayed in /tmp, one a restart)
    assert not list(tmp.glob("assistant-*"))
