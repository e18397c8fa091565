"""A fake Ollama server speaking Ollama's wire protocol (stdlib `http.server`, loopback
only), for the tests of the Ollama backends, `assistant models import` and `doctor`: the
one part that cannot run for real here. The real `ollama` client talks to it."""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

CHAT_MODEL, EMBED_MODEL, SLOW_MODEL = "fake-chat:1b", "fake-embed", "slow-model"
STALL_MODEL = "stall-model"  # sends one piece, then goes quiet
PIECES = ["Paris", " is the", " capital", " of France."]
DIM = 8
SLOW_SECONDS = 3.0
DONE = {  # Ollama's last stream line: no content, the counters
    "done": True,
    "done_reason": "stop",
    "total_duration": 5_000_000,
    "load_duration": 1_000_000,
    "prompt_eval_count": 12,
    "prompt_eval_duration": 1_000_000,
    "eval_count": len(PIECES),
    "eval_duration": 2_000_000,
}


class FakeOllama(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), OllamaHandler)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.stopping = threading.Event()
        self.models = [CHAT_MODEL, f"{EMBED_MODEL}:latest", SLOW_MODEL, STALL_MODEL]
        self.blobs: dict[str, int] = {}  # digest -> size of what was uploaded under it
        self.pieces = list(PIECES)  # what a chat streams, piece by piece (a test may set it)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.requests if p == path]


def unit_vector(text: str) -> list[float]:
    raw = [float((sum(map(ord, text)) * (i + 1)) % 11 + 1) for i in range(DIM)]
    norm = math.sqrt(sum(x * x for x in raw))
    return [x / norm for x in raw]


class OllamaHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked NDJSON streaming, as Ollama does
    server: FakeOllama

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, {}))
        if self.path == "/api/tags":
            models = [
                {"name": m, "model": m, "size": 1, "digest": "0" * 64} for m in self.server.models
            ]
            self.send_json(200, {"models": models})
        else:
            self.send_json(404, {"error": "404 page not found"})

    def do_HEAD(self) -> None:
        digest = self.path.removeprefix("/api/blobs/")
        self.send_response(200 if digest in self.server.blobs else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        if self.path.startswith("/api/blobs/"):
            self.receive_blob(self.path.removeprefix("/api/blobs/"))
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append((self.path, body))
        model = body.get("model")
        if model == SLOW_MODEL and self.server.stopping.wait(SLOW_SECONDS):
            return  # shutting down: don't answer a client that gave up long ago
        if self.path == "/api/chat" and model in (CHAT_MODEL, SLOW_MODEL, STALL_MODEL):
            self.stream_chat(model)
        elif self.path == "/api/embed" and model in (EMBED_MODEL, SLOW_MODEL):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vectors = [unit_vector(t) for t in texts]
            self.send_json(200, {"model": model, "embeddings": vectors, "total_duration": 1})
        elif self.path in ("/api/chat", "/api/embed"):
            self.send_json(404, {"error": f"model '{model}' not found"})
        elif self.path == "/api/create":
            self.create(body)
        else:
            self.send_json(404, {"error": "404 page not found"})

    def receive_blob(self, digest: str) -> None:
        """Hash the upload as Ollama does: a blob is kept only under its own sha256."""
        sha, size = hashlib.sha256(), 0
        for piece in self.read_body():
            sha.update(piece)
            size += len(piece)
        self.server.requests.append((self.path, {"size": size}))
        if digest != f"sha256:{sha.hexdigest()}":
            self.send_json(400, {"error": "digest mismatch"})
            return
        self.server.blobs[digest] = size
        self.send_json(201, {})

    def read_body(self) -> Iterator[bytes]:
        if "Content-Length" in self.headers:
            left = int(self.headers["Content-Length"])
            while left:
                piece = self.rfile.read(min(left, 1 << 20))
                left -= len(piece)
                yield piece
            return
        while size := int(self.rfile.readline().strip(), 16):  # chunked transfer encoding
            yield self.rfile.read(size)
            self.rfile.readline()
        self.rfile.readline()

    def create(self, body: dict[str, Any]) -> None:
        missing = [d for d in (body.get("files") or {}).values() if d not in self.server.blobs]
        if missing or not body.get("files"):
            self.send_json(400, {"error": f"blob not found: {missing}"})
            return
        self.server.models.append(body["model"])
        self.send_json(200, {"status": "success"})

    def send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream_chat(self, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        head = {"model": model, "created_at": "2025-01-01T00:00:00Z"}
        lines = [
            head | {"message": {"role": "assistant", "content": p}, "done": False}
            for p in self.server.pieces
        ]
        lines.append(head | {"message": {"role": "assistant", "content": ""}} | DONE)
        for n, line in enumerate(lines):
            if n == 1 and model == STALL_MODEL and self.server.stopping.wait(SLOW_SECONDS):
                return
            chunk = json.dumps(line).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


@contextmanager
def running_fake_ollama() -> Iterator[FakeOllama]:
    """A FakeOllama serving on a thread for the length of the block."""
    server = FakeOllama()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# Tests against the real Ollama at OLLAMA_HOST (`-m ollama`) run only when it is set.
live = pytest.mark.skipif(
    not os.environ.get("OLLAMA_HOST"),
    reason="set OLLAMA_HOST (and optionally ASSISTANT_OLLAMA_MODEL / _EMBED_MODEL) to run",
)
