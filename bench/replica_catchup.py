"""A replica's keyword catch-up when its process starts, on a server store that
`retrieval_bench.py --server --no-postgres --keep DIR` wrote (a Chroma server, no
PostgreSQL: each replica keeps its own keyword file).

    .venv/bin/python bench/replica_catchup.py --keep /tmp/nopg100k --chunks 100000

A new process (`assistant ask`, a restarted `serve`) must make its keyword file hold what
writers elsewhere wrote before it searches. It starts from the generation the file says it
last caught up to, reading only the documents changed since. Before that generation was
kept, every new process compared every document's record with the file. Both ways are
timed here, alternated, each in a fresh `Store` over the 5 collections (with nothing
changed since: the cost of looking).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from retrieval_bench import COLLECTIONS, servers

from assistant.factory import Components
from bench import _settings, isolate_settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, required=True, help="the store retrieval_bench kept")
    ap.add_argument("--chunks", type=int, default=100_000, help="its size (names the store)")
    ap.add_argument("--rounds", type=int, default=8)
    args = ap.parse_args()
    isolate_settings()
    name = f"retrieval-server-{args.chunks}"
    times: dict[str, list[float]] = {"from the kept generation": [], "every document": []}
    with servers(args.keep / name, postgres=False) as urls:
        settings = _settings(args.keep, name).model_copy(update=urls)
        for i in range(args.rounds):
            order = list(times) if i % 2 == 0 else list(reversed(times))
            for way in order:
                store = Components(settings).store
                if way == "every document":  # as before: nothing kept in the file
                    store.keywords.caught_up = lambda collection: None  # type: ignore[method-assign]
                started = time.perf_counter()
                for collection in COLLECTIONS:
                    store._keywords_caught_up(collection)
                times[way].append((time.perf_counter() - started) * 1000)
                store.keywords.close()
    what = f"a new process's keyword catch-up, 5 collections, {args.chunks:,} chunks"
    print(f"| {what} | p50 | runs (ms) |")
    print("| --- | --- | --- |")
    for way, ms in times.items():
        print(f"| {way} | {statistics.median(ms):,.0f} ms | {', '.join(f'{m:.0f}' for m in ms)} |")


if __name__ == "__main__":
    main()
