"""What a Chroma `where` filter costs: the question behind keeping one collection per team.

One collection of N random unit vectors, each tagged with one of 10 teams; a top-20 query
with no filter, then filtered to one team, to 5 of the 10, and to all 10 (`$in`). If the
filter were cheap, a user's collections could be one collection and one query; it is not.

    .venv/bin/python bench/chroma_filter.py --chunks 100000   # ~1.5 min here
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings

TEAMS = [f"team-{i}" for i in range(10)]
BATCH = 5000


def build(path: str, n: int) -> Any:
    client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
    col = client.create_collection(
        "everything", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    rng = np.random.default_rng(1)
    for start in range(0, n, BATCH):
        size = min(BATCH, n - start)
        vectors = rng.standard_normal((size, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = range(start, start + size)
        col.add(
            ids=[f"c{i}" for i in ids],
            embeddings=vectors,
            metadatas=[{"team": TEAMS[i % 10], "source": f"/s/{i // 10}"} for i in ids],
        )
    return col


def p50_ms(col: Any, queries: np.ndarray, where: dict[str, Any] | None) -> float:
    def one(q: np.ndarray) -> None:
        col.query(query_embeddings=q[None], n_results=20, include=["distances"], where=where)

    for q in queries[:5]:  # warm
        one(q)
    times = []
    for q in queries[5:]:
        started = time.perf_counter()
        one(q)
        times.append(time.perf_counter() - started)
    return float(np.percentile(times, 50)) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="assistant-filter-") as path:
        started = time.perf_counter()
        col = build(path, args.chunks)
        print(f"{args.chunks:,} chunks written in {time.perf_counter() - started:.0f} s\n")
        queries = np.random.default_rng(2).standard_normal((60, 384)).astype(np.float32)
        print(f"| top-20 query over {args.chunks:,} chunks | p50 |\n|---|---|")
        for label, where in [
            ("no filter", None),
            ("one team of 10 (`team = ...`)", {"team": TEAMS[3]}),
            ("5 teams of 10 (`$in`)", {"team": {"$in": TEAMS[:5]}}),
            ("all 10 teams (`$in`)", {"team": {"$in": TEAMS}}),
        ]:
            print(f"| {label} | {p50_ms(col, queries, where):.1f} ms |")


if __name__ == "__main__":
    main()
