"""Retrieval p50 on a store `retrieval_bench.py --keep DIR` wrote, and nothing else: quick
enough (~30 s) to alternate two versions of the code on the same store, which is how a
change is measured on a machine whose speed drifts from minute to minute.

    .venv/bin/python bench/retrieval_repeat.py --keep /tmp/r100k --chunks 100000 [--repeat 2]
    git stash; (the same); git stash pop    # and again, in ABBA order

Prints one line: p50 / p95 of `retrieve_many` over the 5 collections (wall), its CPU time
p50 (all threads), and the mean number of hits; with `--people N`, then the same questions
asked by N threads at once: their p50, questions answered per second and CPU each.
`--cold` empties the keyword index's cache of terms' top postings before each question
(the bench's questions share most words).
"""

from __future__ import annotations

import argparse
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from corpus import QUESTIONS, _fill
from retrieval_bench import COLLECTIONS

from assistant.factory import Components
from bench import _settings, isolate_settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, required=True, help="the store retrieval_bench kept")
    ap.add_argument("--chunks", type=int, default=100_000, help="its size (names the store)")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=2, help="times over the same questions")
    ap.add_argument(
        "--cold", action="store_true", help="no term's top postings cached: each read afresh"
    )
    ap.add_argument(
        "--people", type=int, default=0, help="also: this many asking at once (threads)"
    )
    args = ap.parse_args()
    isolate_settings()
    parts = Components(_settings(args.keep, f"retrieval-{args.chunks}"))
    rng = random.Random(7)  # the questions retrieval_bench asks
    queries = [_fill(rng.choice(QUESTIONS), rng) for _ in range(args.queries)]
    for q in queries[:5]:  # warm: ONNX session, page cache
        parts.retriever.retrieve_many(q, COLLECTIONS)
    wall, cpu, hits = [], [], []
    for _ in range(args.repeat):
        for q in queries:
            if args.cold and parts.store.keywords is not None:
                parts.store.keywords.forget()
            started = time.process_time()
            found = parts.retriever.retrieve_many(q, COLLECTIONS)
            cpu.append(time.process_time() - started)
            wall.append(found.seconds)
            hits.append(len(found.hits))
    print(
        f"p50 {np.percentile(wall, 50) * 1000:.1f} ms  p95 {np.percentile(wall, 95) * 1000:.1f} ms"
        f"  CPU p50 {np.percentile(cpu, 50) * 1000:.1f} ms  hits {np.mean(hits):.2f}"
    )
    if args.people:
        at_once(parts, queries * args.repeat, args.people)


def at_once(parts: Components, queries: list[str], people: int) -> None:
    """`people` threads asking the questions between them, as a web server's workers do."""
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(people) as pool:
        asked = pool.map(lambda q: parts.retriever.retrieve_many(q, COLLECTIONS), queries)
        wall = [found.seconds for found in asked]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{people} at once: p50 {np.percentile(wall, 50) * 1000:.1f} ms"
        f"  {len(queries) / seconds:.1f} questions/s  CPU {cpu / len(queries) * 1000:.1f} ms each"
    )


if __name__ == "__main__":
    main()
