"""Hybrid retrieval at scale, as one Markdown table: N chunks of synthetic prose (bench/
corpus.py) with random unit vectors in place of embeddings, written through the store's
own writer (manifest, Chroma, keyword index) into 5 collections; questions embedded for
real. A user who reads all 5 collections is the access-scoped case.

    .venv/bin/python bench/retrieval_bench.py --chunks 100000 [--queries 100] [--json F]
                                              [--keep DIR]  # reuse the store next time
                                              [--server]    # a replica's view, see below
                                              [--no-postgres]  # and its own keyword file

Rows: writing (chunks/s), retrieval p50/p95 scoped over the 5 collections and in one,
its parts, the first query after a change (a document added, then a question), and the
peak RSS of a fresh process that opens the store and answers questions (serving, less
the chat model).

`--server` measures what a stateless replica sees instead: a real `chroma run` on loopback
holds the vectors and the manifest, and a PostgreSQL cluster (Unix socket, run as the
`postgres` user; the helper the tests use) holds the keyword index. Both run on this
machine, so they share its cores with the bench.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from chroma_sizing import disk_mb
from corpus import QUESTIONS, _fill, paragraph

from assistant.factory import Components
from assistant.retrieval import CANDIDATES_PER_RESULT, SEARCH_THREADS
from assistant.settings import Settings
from assistant.store import Chunk
from assistant.store.words import tokenize
from assistant.store.writer import DocumentWriter
from bench import RandomVectors, Row, _settings, isolate_settings, manifest_mb, table

COLLECTIONS = [f"team-{i}" for i in range(5)]
CHUNKS_PER_DOC = 10
RESULTS: dict[str, Any] = {}


def write(parts: Components, n_chunks: int, seed: int = 2) -> float:
    """n_chunks over the collections, 10-chunk documents, through `Store.writer`;
    returns the seconds it took."""
    store, embedder, rng = parts.store, parts.store.embedder, random.Random(seed)
    store.embedder = RandomVectors(embedder.name)
    started = time.perf_counter()
    try:
        per = n_chunks // len(COLLECTIONS)
        for c, name in enumerate(COLLECTIONS):
            with store.writer(name) as w:
                for d in range(0, per, CHUNKS_PER_DOC):
                    document(w, f"/syn/{c}/{d}", f"h{c}-{d}", min(CHUNKS_PER_DOC, per - d), rng)
    finally:
        store.embedder = embedder
    return time.perf_counter() - started


def document(
    w: DocumentWriter, source: str, doc_hash: str, chunks: int, rng: random.Random
) -> None:
    """One synthetic document of `chunks` chunks of ~600 characters, through the writer."""
    w.begin(source, doc_hash, source)
    for i in range(chunks):
        meta = {"source": source, "doc_hash": doc_hash, "chunk_index": i}
        w.add(Chunk(f"{doc_hash}-{i}", paragraph(rng, 600), meta))
    w.end(source)


def change(parts: Components, i: int) -> None:
    """One new document in one collection: what the first query after it must not pay for."""
    store, embedder = parts.store, parts.store.embedder
    store.embedder = RandomVectors(embedder.name)
    try:
        meta = {"source": f"/new/{i}", "doc_hash": f"n{i}", "title": "new"}
        rng = random.Random(i)
        store.add([Chunk(f"n{i}-{j}", paragraph(rng, 600), meta) for j in range(10)], "team-0")
    finally:
        store.embedder = embedder


def fresh_process(settings: Settings, queries: list[str], *, warm: bool) -> dict[str, float]:
    """A fresh process that opens the store, loads its collections first as `serve` does
    (`warm`) or not, and answers the questions: the seconds of loading, of its first
    question, and its peak RSS (MiB)."""
    code = (
        "import json, resource, sys, time\n"
        "from assistant.factory import Components\n"
        "from assistant.settings import Settings\n"
        "p = Components(Settings(**json.loads(sys.argv[1])))\n"
        f"warm = p.retriever.warm({COLLECTIONS!r}) if sys.argv[3] == 'warm' else 0.0\n"
        "asked = [p.retriever.retrieve_many(q, "
        f"{COLLECTIONS!r}).seconds for q in json.loads(sys.argv[2])]\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'warm_s': warm, 'first_s': asked[0], 'rss_mib': rss}))\n"
    )
    where = {"data_dir": str(settings.data_dir), "chroma_url": settings.chroma_url}
    where["database_url"] = settings.database_url
    mode = "warm" if warm else "cold"
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(where), json.dumps(queries), mode],
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, float] = json.loads(out.stdout.splitlines()[-1])
    return measured


@contextlib.contextmanager
def servers(root: Path, postgres: bool = True) -> Iterator[dict[str, str]]:
    """A Chroma server and a PostgreSQL cluster with their data under `root` (kept there:
    a second run finds the store written), as the settings that point at them. Without
    `postgres` the keyword index is the replica's own SQLite file (compose's layout)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.chroma import ChromaProcess  # the real servers the tests run
    from support.postgres import cluster

    root.mkdir(parents=True, exist_ok=True)
    chroma = ChromaProcess(root / "chroma-server").start()
    try:
        if not postgres:
            yield {"chroma_url": chroma.url}
            return
        with cluster(root / "postgres") as url:
            yield {"chroma_url": chroma.url, "database_url": url}
    finally:
        chroma.stop()


def measure(
    tmp: Path, n_chunks: int, n_queries: int, server: bool = False, postgres: bool = True
) -> list[Row]:
    if not server:
        return _measure(_settings(tmp, f"retrieval-{n_chunks}"), n_chunks, n_queries)
    root = tmp / f"retrieval-server-{n_chunks}"
    with servers(root, postgres) as urls:
        settings = _settings(tmp, f"retrieval-server-{n_chunks}").model_copy(update=urls)
        return _measure(settings, n_chunks, n_queries, server_data=root)


def _measure(
    settings: Settings, n_chunks: int, n_queries: int, server_data: Path | None = None
) -> list[Row]:
    done = settings.data_dir / "written"  # with --keep: a store written by an earlier run
    parts = Components(settings)
    if done.exists():
        write_s = float(done.read_text())
    else:
        write_s = write(parts, n_chunks)
        done.write_text(str(write_s))
    rng = random.Random(7)
    queries = [_fill(rng.choice(QUESTIONS), rng) for _ in range(n_queries)]
    for q in queries[:3]:  # warm: ONNX session, page cache
        parts.retriever.retrieve_many(q, COLLECTIONS)
    t, cpu = _sample(parts, queries)
    cold = fresh_process(settings, queries[:20], warm=False)
    served = fresh_process(settings, queries[:20], warm=True)
    t["fresh_first"], t["warmed_first"] = [cold["first_s"]], [served["first_s"]]
    t["warm"], rss = [served["warm_s"]], served["rss_mib"]
    RESULTS[str(n_chunks)] = {"write_s": write_s, "samples_s": t, "serve_rss_mib": rss}
    rows = _rows(t, cpu, n_chunks=n_chunks, n_queries=n_queries, write_s=write_s, rss=rss)
    if server_data is not None:  # the targets are the embedded store's (one process)
        shared = "with a Chroma server" + (" and PostgreSQL" if settings.database_url else "")
        shared += " on the same cores"
        rows = [replace(r, target=None, note=r.note or shared) if r.target else r for r in rows]
    return rows + _disk_rows(settings, server_data)


def _sample(
    parts: Components, queries: list[str]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall seconds of each query, whole and by part, then of the first query after each
    of 10 changes; and the CPU seconds of the whole ones."""
    store, retriever = parts.store, parts.retriever
    t: dict[str, list[float]] = {
        k: []
        for k in ("scoped", "cold", "serial", "one", "embed", "vector", "keyword", "fetch", "first")
    } | {"document": []}

    def timed(key: str, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        result = fn(*args)
        t[key].append(time.perf_counter() - started)
        return result

    k = parts.settings.top_k
    n = k * CANDIDATES_PER_RESULT
    cpu: dict[str, list[float]] = {"scoped": [], "first": []}
    for j, q in enumerate(queries):
        if j % 2:  # ABBA: the 5 collections one after the other, as before they ran at once
            t["serial"].append(serial(retriever, q))
        started = time.process_time()
        t["scoped"].append(retriever.retrieve_many(q, COLLECTIONS).seconds)
        cpu["scoped"].append(time.process_time() - started)
        if not j % 2:
            t["serial"].append(serial(retriever, q))
        if store.keywords is not None:  # no word of the question's top postings cached
            store.keywords.forget()
            t["cold"].append(retriever.retrieve_many(q, COLLECTIONS).seconds)
        t["one"].append(retriever.retrieve(q, collection="team-0").seconds)
        vec = np.asarray(timed("embed", store.embedder.embed, [q])[0], dtype=np.float32)
        near = [i for i, _ in timed("vector", store.nearest, vec, n, "team-0")]
        ids = timed("keyword", store.keyword_search, tokenize(q), n, "team-0")
        window = list(dict.fromkeys([*near[:k], *ids[:k]]))  # as the fused first 2k
        timed("fetch", store.get_with_embeddings, window, "team-0")
    docs = store.documents("team-0")
    for d in docs[:: max(1, len(docs) // 20)][:20]:  # what the viewer and a re-sync read
        timed("document", lambda s: list(store.read_document(s, "team-0")), d.source)
    for i in range(10):
        change(parts, i)
        started = time.process_time()
        t["first"].append(retriever.retrieve_many(queries[i], COLLECTIONS).seconds)
        cpu["first"].append(time.process_time() - started)
    return t, cpu


def _rows(
    t: dict[str, list[float]],
    cpu: dict[str, list[float]],
    *,
    n_chunks: int,
    n_queries: int,
    write_s: float,
    rss: float,
) -> list[Row]:
    def p(key: str, q: int = 50) -> float:
        return float(np.percentile(t[key], q)) * 1000

    target = 25.0 if n_chunks <= 100_000 else 60.0
    first = "a 10-chunk document added, then a question over the 5 collections"
    document = f"10 chunks among {n_chunks // 5:,}: what the viewer and an edit's re-sync read"
    serial_note = f"as before: no thread pool (it runs {SEARCH_THREADS} at once); alternated"
    cold = "each question's postings read from the index (the questions share most words)"
    busy = "wall time above includes waiting for a core on a shared machine; this does not"
    loads = "it loads the embedder and each collection's vector index"
    warmed = "Retriever.warm: one question over the 5 collections, before listening"
    note = f"{n_chunks:,} chunks in 5 collections, {n_queries} queries, hybrid"
    return [
        Row(
            "Retrieve p50, user reading all 5 collections", p("scoped"), "ms", ("<=", target), note
        ),
        Row("Retrieve p95, same", p("scoped", 95), "ms"),
        Row("  the same, no term's top postings cached, p50", p("cold"), "ms", note=cold),
        Row("  CPU time of it p50 (all threads)", _ms(cpu["scoped"]), "ms", note=busy),
        Row("  the 5 searched one after the other, p50", p("serial"), "ms", note=serial_note),
        Row("Retrieve p50, one collection", p("one"), "ms", note=f"{n_chunks // 5:,} chunks"),
        Row("  part p50: query embedding (ONNX)", p("embed"), "ms"),
        Row("  part p50: Chroma vector query (ids, distances), one", p("vector"), "ms"),
        Row("  part p50: keyword index top-n, one collection", p("keyword"), "ms"),
        Row("  part p50: fetch the first 2k candidates (text, vectors)", p("fetch"), "ms"),
        Row("Read one document's chunks, p50 of 20", p("document"), "ms", note=document),
        Row("First query after a change, p50 of 10", p("first"), "ms", ("<=", 50.0), first),
        Row("First query after a change, max of 10", max(t["first"]) * 1000, "ms"),
        Row("  CPU time of it p50 (all threads)", _ms(cpu["first"]), "ms"),
        Row("Writing (Store.writer, vectors given)", n_chunks / write_s, "chunks/s"),
        Row("Peak RSS, fresh process answering 20 questions", rss, "MiB", note="no chat model"),
        Row("A fresh process's first question", p("fresh_first"), "ms", note=loads),
        Row("  loading the collections first, as serve does", p("warm"), "ms", note=warmed),
        Row("  its first question then", p("warmed_first"), "ms"),
    ]


def _disk_rows(settings: Settings, server_data: Path | None) -> list[Row]:
    if server_data is None:
        manifest = manifest_mb(settings.chroma_dir)
        return [
            Row("Manifest + keyword index on disk", manifest, "MiB"),
            Row("Chroma on disk", disk_mb(settings.chroma_dir) - manifest, "MiB"),
        ]
    chroma = disk_mb(server_data / "chroma-server")
    return [
        Row("Chroma server on disk (vectors, texts, manifest)", chroma, "MiB"),
        Row("PostgreSQL database (keyword index)", _database_mb(settings), "MiB", note="no WAL")
        if settings.keyword_database
        else Row("The replica's keyword file", disk_mb(settings.chroma_dir), "MiB"),
    ]


def _database_mb(settings: Settings) -> float:
    import sqlalchemy

    engine = sqlalchemy.create_engine(str(settings.database_url))
    with engine.connect() as db:
        size = db.execute(sqlalchemy.text("SELECT pg_database_size(current_database())"))
        mb = int(size.scalar_one()) / 2**20
    engine.dispose()
    return mb


def serial(retriever: Any, question: str) -> float:
    retriever.threads = 1
    try:
        return float(retriever.retrieve_many(question, COLLECTIONS).seconds)
    finally:
        retriever.threads = SEARCH_THREADS


def _ms(samples: list[float]) -> float:
    return float(np.percentile(samples, 50)) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--json", type=Path, help="also write the raw numbers here")
    ap.add_argument("--keep", type=Path, help="keep the store here and reuse it next time")
    ap.add_argument(
        "--server", action="store_true", help="Chroma server and PostgreSQL, as a replica"
    )
    ap.add_argument(
        "--no-postgres",
        action="store_true",
        help="with --server: the keyword index in the replica's own SQLite file",
    )
    args = ap.parse_args()
    isolate_settings()
    postgres = not args.no_postgres
    if args.keep:
        rows = measure(args.keep, args.chunks, args.queries, args.server, postgres)
    else:
        with tempfile.TemporaryDirectory(prefix="assistant-bench-") as name:
            rows = measure(Path(name), args.chunks, args.queries, args.server, postgres)
    print(table(rows))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this (writing) process: {peak:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(RESULTS, indent=2))


if __name__ == "__main__":
    main()
