"""What permissions cost, as one Markdown table: retrieval for a user who reads several
collections (each searched on its own, hits merged) against the same chunks in one
collection, and against one collection filtered by a Chroma `where` on a group field (the
design not taken); the login gate's per-request check; a password check.

    .venv/bin/python bench/bench_access.py [--chunks 8000] [--queries 30]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from corpus import QUESTIONS, _fill, paragraph

from api.gate import COOKIE, Gate
from assistant.auth import Database, Directory, Principal
from assistant.auth.access import scope
from assistant.auth.ratelimit import LoginLimiter
from assistant.factory import Components
from assistant.store import Chunk
from bench import RandomVectors, Row, _settings, table

GROUPS = 4


def p50(samples: list[float]) -> float:
    return float(np.percentile(samples, 50)) * 1000


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def write(parts: Components, chunks: list[Chunk], collection: str) -> None:
    store, embedder = parts.store, parts.store.embedder
    store.embedder = RandomVectors(embedder.name)  # search cost does not depend on meaning
    try:
        store.add(chunks, collection)
    finally:
        store.embedder = embedder


def retrieval(tmp: Path, n_chunks: int, n_queries: int) -> list[Row]:
    parts = Components(_settings(tmp, "access"))
    rng = random.Random(3)
    chunks = [
        Chunk(
            f"c{i}",
            paragraph(rng, 600),
            {"source": f"/syn/{i // 10}", "doc_hash": f"h{i // 10}", "group": f"g{i % GROUPS}"},
        )
        for i in range(n_chunks)
    ]
    write(parts, chunks, "everything")
    for g in range(GROUPS):
        write(parts, [c for c in chunks if c.metadata["group"] == f"g{g}"], f"team-{g}")
    queries = [_fill(rng.choice(QUESTIONS), rng) for _ in range(n_queries)]
    retriever, store = parts.retriever, parts.store
    reader = Principal("r", readable=frozenset(f"team-{g}" for g in range(GROUPS)))
    one = Principal("one", readable=frozenset({"team-0"}))
    for q in queries[:2]:  # warm: BM25 indexes built once per collection
        retriever.retrieve(q, collection="everything")
        retriever.retrieve_many(q, scope(reader, store))

    def run(fn: Callable[[str], object]) -> list[float]:
        return [t for q in queries for t in timed(lambda q=q: fn(q), 1)]

    whole = run(lambda q: retriever.retrieve(q, collection="everything"))
    merged = run(lambda q: retriever.retrieve_many(q, scope(reader, store)))
    single = run(lambda q: retriever.retrieve_many(q, scope(one, store)))
    vec = np.asarray(store.embedder.embed([queries[0]])[0], dtype=np.float32)
    col = store._collection("everything")
    k = parts.settings.top_k * 4
    plain = timed(lambda: col.query(query_embeddings=[vec], n_results=k), n_queries)
    where = {"group": {"$in": ["g0", "g1"]}}
    filtered = timed(lambda: col.query(query_embeddings=[vec], n_results=k, where=where), n_queries)
    note = f"{n_chunks:,} chunks, {GROUPS} teams, {n_queries} queries, hybrid"
    return [
        Row("retrieve, all chunks in one collection p50", p50(whole), "ms", note=note),
        Row(f"retrieve for a user reading all {GROUPS} team collections p50", p50(merged), "ms"),
        Row("  ratio to one collection", p50(merged) / p50(whole), "x"),
        Row("retrieve for a user reading 1 team collection p50", p50(single), "ms"),
        Row("Chroma query, one collection, no filter p50", p50(plain), "ms"),
        Row("Chroma query, same, `where` group in 2 of 4 p50", p50(filtered), "ms"),
        Row("  ratio where / no filter", p50(filtered) / p50(plain), "x"),
    ]


def gate(tmp: Path, n: int) -> list[Row]:
    directory = Directory(Database(f"sqlite:///{tmp / 'gate.sqlite3'}"))
    directory.add_user("alice", "alice-pass-1", groups=["staff"])
    directory.grant("staff", "documents")
    token = directory.create_token("alice", "bench")
    session = directory.open_session("alice", 1)
    g = Gate(directory, LoginLimiter(5, 60))

    def scope_with(header: bytes, value: str) -> dict:
        return {"type": "http", "client": ("127.0.0.1", 1), "headers": [(header, value.encode())]}

    by_cookie = scope_with(b"cookie", f"{COOKIE}={session}")
    by_token = scope_with(b"authorization", f"Bearer {token}")
    return [
        Row(
            "gate: identify a session cookie p50",
            p50(timed(lambda: g.identify(by_cookie), n)),
            "ms",
        ),
        Row("gate: identify a bearer token p50", p50(timed(lambda: g.identify(by_token), n)), "ms"),
        Row(
            "login: Argon2id password check p50",
            p50(timed(lambda: directory.authenticate("alice", "alice-pass-1"), 10)),
            "ms",
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=8000)
    ap.add_argument("--queries", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = gate(Path(tmp), 200) + retrieval(Path(tmp), args.chunks, args.queries)
    print(table(rows))


if __name__ == "__main__":
    sys.exit(main())
