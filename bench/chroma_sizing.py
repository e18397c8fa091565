"""Memory and disk of a Chroma server per N chunks at 384 dimensions (deploy/README.md's sizing).

Starts a real `chroma run` on loopback with an empty data dir, writes N chunks shaped like
ours (a 384-d unit vector, ~700 characters of text, the metadata our writer stores), then
queries it so the HNSW index is loaded, and prints a table: server RSS, disk, write rate.

    .venv/bin/python bench/chroma_sizing.py [--chunks 100000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import assistant  # noqa: F401  (telemetry off before chromadb imports)
from assistant.store.store import TEXT_KEY

WORDS = [
    "policy",
    "leave",
    "budget",
    "contract",
    "employee",
    "holiday",
    "model",
    "weights",
    "licence",
    "release",
    "open",
    "source",
    "meta",
    "llama",
    "training",
    "data",
    "parameters",
    "hardware",
    "server",
    "network",
    "document",
    "section",
    "page",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its children (the CLI may fork the server)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def texts(rng: np.random.Generator, n: int) -> list[str]:
    out = []
    for _ in range(n):
        words = rng.choice(WORDS, size=110)
        out.append(" ".join(words)[:700])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    if chroma is None:
        sys.exit("chroma_sizing: the `chroma` command of chromadb is missing")
    data = Path(tempfile.mkdtemp(prefix="chroma-sizing-"))
    port = free_port()
    server = subprocess.Popen(
        [chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        result = measure(server, connect(port), data, args.chunks, args.batch)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
    print_table(result, args.batch)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


def connect(port: int) -> Any:
    """A client of the server on `port`, once it answers (within a minute)."""
    import chromadb

    client = None
    for _ in range(120):
        try:
            client = chromadb.HttpClient(host="127.0.0.1", port=port)
            client.heartbeat()
            break
        except Exception:
            time.sleep(0.5)
    assert client is not None
    return client


def measure(
    server: subprocess.Popen[bytes], client: Any, data: Path, chunks: int, batch: int
) -> dict[str, float]:
    """Write the chunks, query them, and measure the server's memory and disk."""
    rss_empty = rss_mb(server.pid)
    col = client.create_collection("sizing", metadata={"hnsw:space": "cosine"})
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for first in range(0, chunks, batch):
        add_batch(col, rng, first, min(batch, chunks - first))
    write_s = time.perf_counter() - start
    query = rng.standard_normal((1, 384)).astype(np.float32)
    q_start = time.perf_counter()
    for _ in range(20):
        col.query(query_embeddings=query, n_results=16)
    query_ms = (time.perf_counter() - q_start) / 20 * 1000
    time.sleep(2)  # let the server settle (flushes, compaction)
    return {
        "chunks": chunks,
        "rss_empty_mb": round(rss_empty, 1),
        "rss_loaded_mb": round(rss_mb(server.pid), 1),
        "disk_mb": round(disk_mb(data), 1),
        "write_chunks_per_s": round(chunks / write_s),
        "query_ms": round(query_ms, 1),
        "raw_vectors_mb": round(chunks * 384 * 4 / 2**20, 1),
    }


def add_batch(col: Any, rng: np.random.Generator, first: int, n: int) -> None:
    """Chunks first..first+n, shaped like ours: unit vectors, text, our metadata."""
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    col.add(
        ids=[f"doc{(first + i) // 50}:{first + i}" for i in range(n)],
        embeddings=vectors,
        metadatas=[
            {
                "source": f"/srv/documents/file{(first + i) // 50}.pdf",
                "anchor": f"page {(first + i) % 50 + 1}",
                "sha256": f"{first + i:064x}",
                "version": "v1",
                "chunk": (first + i) % 50,
                TEXT_KEY: text,  # where the store keeps a chunk's text (see store.py)
            }
            for i, text in enumerate(texts(rng, n))
        ],
    )


def print_table(result: dict[str, float], batch: int) -> None:
    print(f"| Chroma server, {result['chunks']:,} chunks at 384 dims | value |")
    print("| --- | --- |")
    print(f"| raw float32 vectors (N x 384 x 4 B) | {result['raw_vectors_mb']} MB |")
    print(
        f"| server RSS empty / after writing and querying | {result['rss_empty_mb']} / "
        f"{result['rss_loaded_mb']} MB |"
    )
    print(f"| disk (data dir) | {result['disk_mb']} MB |")
    print(f"| write rate (batches of {batch}) | {result['write_chunks_per_s']} chunks/s |")
    print(f"| query, top 16, mean of 20 | {result['query_ms']} ms |")


if __name__ == "__main__":
    main()
