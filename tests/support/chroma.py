"""Helpers for the Chroma server mode: a real `chroma run` process (and the `chroma`
fixture that starts one), a replica in this process (`served`), and a loopback HTTP
proxy in front of it that records headers, can demand a token, and can kill the server
the moment a request of a given kind arrives (a server dying in the middle of a question).
"""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.factory import Components
from support.net import free_port
from support.paths import make_settings

CHROMA = str(Path(sys.executable).with_name("chroma"))


class ChromaProcess:
    """`chroma run --path PATH --port PORT --host 127.0.0.1`, started and stopped for real."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path, self.port = path, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> ChromaProcess:
        # The server writes its own copy of the log's file descriptor; ours closes at once.
        with open(self.path.parent / f"chroma-{self.port}.log", "ab") as log:
            self.proc = subprocess.Popen(
                [CHROMA, "run", "--path", str(self.path), "--port", str(self.port)]
                + ["--host", "127.0.0.1"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"chroma run on port {self.port} gave no heartbeat in {timeout}s")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash or a pulled plug."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class Proxy:
    """A loopback HTTP proxy to `upstream`. Records every request's headers; with `token`
    set, answers 401 (plain text, as a reverse proxy would) unless `header` carries it;
    `before(path)` runs before each request is forwarded. When the upstream cannot be
    reached the client's connection is dropped without an answer, like a dead server's."""

    def __init__(
        self,
        upstream: str,
        *,
        token: str | None = None,
        header: str = "Authorization",
        before: Callable[[str], None] | None = None,
    ) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.token, self.header, self.before = token, header, before
        self.seen: list[tuple[str, dict[str, str]]] = []  # (path, lower-cased headers)
        self.received = 0  # bytes of the answers passed back
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers.items())
                proxy.seen.append((self.path, {k.lower(): v for k, v in headers.items()}))
                if proxy.token is not None and self.headers.get(proxy.header) != proxy.expected():
                    self._answer(401, {"Content-Type": "text/plain"}, b"unauthorized")
                    return
                if proxy.before is not None:
                    proxy.before(self.path)
                try:
                    upstream = http.client.HTTPConnection(proxy.upstream, timeout=60)
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                except OSError:
                    self.close_connection = True  # drop it: no response at all
                    return
                keep = {"Content-Type": response.getheader("Content-Type") or "text/plain"}
                proxy.received += len(data)
                self._answer(response.status, keep, data)
                upstream.close()

            def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def expected(self) -> str:
        return f"Bearer {self.token}" if self.header == "Authorization" else str(self.token)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaProcess]:
    """A real `chroma run` on loopback, its data under the test's tmp_path."""
    server = ChromaProcess(tmp_path / "server").start()
    yield server
    server.stop()


def served(data_dir: Path, url: str) -> Components:
    """A replica in this process: its own data dir, the shared server."""
    return Components(make_settings(data_dir, chroma_url=url))
