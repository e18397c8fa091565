"""The store's own write cost as it grows: chunks written through `Store.writer` with random
vectors (no embedding), in blocks, into one collection of a fresh store. Prints a table of
ms a chunk (wall and CPU) per block and the store's size on disk at the end.

What an ingest pays beside the embedder (Chroma's upsert, the keyword index, the manifest),
without the embedder's noise: alternate two versions of the code to compare them.

    .venv/bin/python bench/store_writes.py [--chunks 30000] [--block 5000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from chroma_sizing import disk_mb
from retrieval_bench import CHUNKS_PER_DOC, document

from assistant.factory import Components
from bench import RandomVectors, Row, _settings, isolate_settings, table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=30_000)
    ap.add_argument("--block", type=int, default=5_000, help="chunks per timed block")
    args = ap.parse_args()
    isolate_settings()
    with tempfile.TemporaryDirectory() as tmp:
        parts = Components(_settings(Path(tmp), "store-writes"))
        store, rng = parts.store, random.Random(2)
        store.embedder = RandomVectors(store.embedder.name)
        rows, written = [], 0
        while written < args.chunks:
            wall, cpu = time.perf_counter(), time.process_time()
            with store.writer("writes") as w:
                for _ in range(args.block // CHUNKS_PER_DOC):
                    document(w, f"/syn/{written}", f"h{written}", CHUNKS_PER_DOC, rng)
                    written += CHUNKS_PER_DOC
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            per = 1000 / args.block
            rows.append(Row(f"block to {written:,} chunks: wall", wall * per, "ms a chunk"))
            rows.append(Row("  CPU (all threads)", cpu * per, "ms a chunk"))
        rows.append(Row("on disk", disk_mb(Path(tmp)), "MiB"))
        print(table(rows))


if __name__ == "__main__":
    main()
