"""The keyword index alone at sizes the full retrieval bench cannot reach on 2 shared cores
(writing 1M random vectors into Chroma takes hours there): N chunks of synthetic prose in
5 collections written straight into the SQLite keyword index, then the cost of a query,
of the first query after a change, and the memory of a process that answers them.

    .venv/bin/python bench/keyword_scale.py --chunks 1000000 [--queries 200]
    .venv/bin/python bench/keyword_scale.py --chunks 100000 --postgres postgresql://...

`--postgres` writes the index into that database instead (server mode's keyword index; it
drops the bench's five `team-*` collections there first: give it a database of its own).
Both report a single asker (a fresh process) and several people asking at once (threads
of one process, as a web server's), whose reads run side by side.

The prose is drawn from a pool of generated sentences (bench/corpus.py), so a million
chunks are quick to make and have the vocabulary of the full bench.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from corpus import QUESTIONS, SENTENCES, _fill

from assistant.retrieval import CANDIDATES_PER_RESULT
from assistant.store import Chunk
from assistant.store.keyword_db import PostgresKeywordDb, SqliteKeywordDb
from assistant.store.keywords import KeywordIndex
from assistant.store.words import tokenize
from bench import Row, manifest_mb, table

COLLECTIONS = [f"team-{i}" for i in range(5)]
N = 4 * CANDIDATES_PER_RESULT  # top_k 4 by default: 16 candidates
PEOPLE = 4  # asking at once


def chunks(n: int, rng: random.Random, pool: list[str], prefix: str) -> list[Chunk]:
    out = []
    for i in range(n):
        text = " ".join(rng.choice(pool) for _ in range(rng.randint(5, 7)))
        source, doc_hash = f"/syn/{prefix}/{i // 10}", f"{prefix}-{i // 10}"
        out.append(Chunk(f"{prefix}-{i}", text, {"source": source, "doc_hash": doc_hash}))
    return out


def write(index: KeywordIndex, n_chunks: int) -> float:
    rng = random.Random(2)
    pool = [_fill(rng.choice(SENTENCES), rng) for _ in range(50_000)]
    started, per = time.perf_counter(), n_chunks // len(COLLECTIONS)
    for name in COLLECTIONS:
        for start in range(0, per, 1000):
            index.add(name, chunks(min(1000, per - start), rng, pool, f"{name}-{start}"))
    return time.perf_counter() - started


def open_index(target: str) -> KeywordIndex:
    """The index in this SQLite file, or in this PostgreSQL database."""
    if target.startswith("postgresql"):
        return KeywordIndex(PostgresKeywordDb(target))
    return KeywordIndex(SqliteKeywordDb(Path(target)))


def answer(target: str, queries: list[str]) -> tuple[list[float], float]:
    """Per-query seconds over the 5 collections and peak RSS (MiB), in a fresh process."""
    code = (
        "import json, resource, sys, time\n"
        "from keyword_scale import open_index\n"
        "from assistant.store.words import tokenize\n"
        "index = open_index(sys.argv[1])\n"
        "out = []\n"
        "for q in json.loads(sys.argv[2]):\n"
        "    t = time.perf_counter()\n"
        f"    for c in {COLLECTIONS!r}:\n"
        f"        index.top(c, tokenize(q), {N * 2})\n"  # with the terms' weights
        "    out.append(time.perf_counter() - t)\n"
        "print(json.dumps([out, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))\n"
    )
    got = subprocess.run(
        [sys.executable, "-c", code, target, json.dumps(queries)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    )
    samples, rss = json.loads(got.stdout)
    return samples, rss / 1024


def at_once(index: KeywordIndex, queries: list[str]) -> tuple[list[float], float]:
    """`PEOPLE` askers at once, each its questions over the 5 collections in turn: the
    seconds of each question, and questions answered per second in all."""

    def ask(q: str) -> float:
        started = time.perf_counter()
        for c in COLLECTIONS:
            index.top(c, tokenize(q), N * 2)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(PEOPLE) as people:
        samples = list(people.map(ask, queries))
    return samples, len(queries) / (time.perf_counter() - started)


def size_mb(index: KeywordIndex, target: str) -> float:
    if not target.startswith("postgresql"):
        return manifest_mb(Path(target).parent)
    with index._db.read() as db:
        (size,) = db.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(oid)), 0) FROM pg_class"
            " WHERE relkind = 'r' AND left(relname, 3) = 'kw_'"
        ).fetchone()
    return float(size) / 2**20


def measure(target: str, n_chunks: int, n_queries: int) -> list[Row]:
    index = open_index(target)
    for name in COLLECTIONS:  # a PostgreSQL database may hold an earlier run's
        index.drop(name)
    write_s = write(index, n_chunks)
    rng = random.Random(7)
    queries = [_fill(rng.choice(QUESTIONS), rng) for _ in range(n_queries)]
    samples, rss = answer(target, queries)
    index.forget()  # the people below read the postings afresh, as the fresh process
    together, rate = at_once(index, queries)
    first = []
    pool = [_fill(rng.choice(SENTENCES), rng) for _ in range(100)]
    for i in range(10):  # a document added, then the first query over the 5 collections
        index.add("team-0", chunks(10, rng, pool, f"new-{i}"))
        started = time.perf_counter()
        for c in COLLECTIONS:
            index.top(c, tokenize(queries[i]), N * 2)
        first.append(time.perf_counter() - started)
    ms = [s * 1000 for s in samples]
    where = "PostgreSQL" if target.startswith("postgresql") else "SQLite"
    note = f"{n_chunks:,} chunks in 5 collections in {where}, {n_queries} queries"
    people = f"{PEOPLE} people at once"
    disk = size_mb(index, target)
    index.close()
    return [
        Row("Keyword top-n over 5 collections p50", float(np.percentile(ms, 50)), "ms", note=note),
        Row("Keyword top-n over 5 collections p95", float(np.percentile(ms, 95)), "ms"),
        Row(f"  the same, {people}, p50", float(np.percentile(together, 50)) * 1000, "ms"),
        Row(f"  questions answered per second, {people}", rate, "/s"),
        Row("  questions answered per second, one asker", 1000 / float(np.mean(ms)), "/s"),
        Row("First keyword query after a change, max of 10", max(first) * 1000, "ms"),
        Row("Writing the keyword index", n_chunks / write_s, "chunks/s"),
        Row("Keyword index on disk", disk, "MiB"),
        Row("  per chunk", disk * 2**20 / n_chunks, "bytes"),
        Row("Peak RSS, fresh process answering the queries", rss, "MiB"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dir", type=Path, help="work here (default: a temporary directory)")
    ap.add_argument("--postgres", metavar="URL", help="write the index into this database")
    args = ap.parse_args()
    os.environ["ASSISTANT_CONFIG"] = "/nonexistent/assistant.toml"
    if args.postgres:
        rows = measure(args.postgres, args.chunks, args.queries)
    else:
        with tempfile.TemporaryDirectory(prefix="assistant-bench-", dir=args.dir) as name:
            rows = measure(str(Path(name) / "manifest.sqlite3"), args.chunks, args.queries)
    print(table(rows))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this (writing) process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
