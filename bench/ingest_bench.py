"""Ingest at scale: `assistant ingest` over a generated corpus of every format, as a user runs
it (a real process), against the bare embedder on the same chunk texts.

Prints one Markdown table: files/s and chunks/s of the product, chunks/s of the raw ONNX
embedder on exactly the chunks the product wrote (target: product/raw >= 0.9; the corpus
is ingested in slices, each by its own `assistant ingest` run into the same store, with
the raw embedder beside it in ABBA order so a changing load hits both sides), the
unchanged re-run as a share of the first runs (target < 5%), and resident memory: each
run's peak as the store grows, and with one slice at each quarter of the files (flat
means the corpus is streamed, not held). A few broken files are mixed in: they must be
reported and skipped without stopping the run.

    .venv/bin/python bench/ingest_bench.py              # 2,000 files, ~10k chunks, 4 runs
    .venv/bin/python bench/ingest_bench.py --files 5000 --small --slices 1 --no-raw
                                                        # 5,000 files in one run, RSS by quarter
    .venv/bin/python bench/ingest_bench.py --files 100  # smoke run
    .venv/bin/python bench/ingest_bench.py --files 19000 --raw-every 4
                                                        # ~100k chunks, raw side sampled
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from corpus import write_mixed_corpus

from assistant.embeddings.onnx import _PackagedMiniLM
from assistant.settings import Settings
from ingest.chunking import chunk_document
from ingest.loaders import load

ASSISTANT = str(Path(sys.executable).with_name("assistant"))
BROKEN = {  # name: bytes; each must come back as "failed" with a reason
    "truncated.pdf": b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog",
    "junk.pdf": b"\x00\x01 not a pdf " * 100,
    "binary.txt": bytes(range(256)) * 8,  # text in odd encodings is read now; binary is not
    "empty.md": b"",
}


def rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1024


def run_ingest(corpus: Path, env: dict[str, str], total: int) -> dict[str, object]:
    """`assistant ingest` with its per-file lines on stdout (not a TTY), sampling memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [ASSISTANT, "ingest", str(corpus)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    done, peak, samples = 0, 0.0, {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.2):
            peak = max(peak, rss_mib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stdout is not None
    quarters = {total * q // 4: q for q in (1, 2, 3, 4)}
    failed = []
    embed_s = 0.0
    for line in proc.stdout:
        if said := re.search(r"\(([\d.]+)s embedding\)$", line.strip()):  # the summary
            embed_s = float(said.group(1))
        if line.startswith(("added", "updated", "unchanged", "failed")):
            done += 1
            if line.startswith("failed"):
                failed.append(line.strip())
            if done in quarters:
                samples[quarters[done]] = rss_mib(proc.pid)
    proc.wait()
    stop.set()
    sampler.join()
    return {
        "seconds": time.perf_counter() - started,
        "embed_seconds": embed_s,
        "files": done,
        "failed": failed,
        "peak_mib": peak,
        "quarters_mib": samples,
        "exit": proc.returncode,
    }


def raw_embed_seconds(
    folder: Path, batch: int, embed: _PackagedMiniLM, every: int = 1
) -> tuple[int, float]:
    """The bare ONNX embedder over the same chunk texts (every n-th of them, so a 100k-chunk
    run need not embed everything twice), in the same batch size."""
    s = Settings()
    size = {"chunk_size": s.chunk_size, "chunk_overlap": s.chunk_overlap}
    texts = []
    for path in sorted(folder.iterdir()):
        if path.name not in BROKEN:
            texts += [c.text for c in chunk_document(load(path), **size, collection="bench")]
    texts = texts[::every]
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        embed(texts[i : i + batch])
    return len(texts), time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--slices", type=int, default=4, help="ingest runs, raw runs beside each")
    ap.add_argument("--small", action="store_true", help="1 paragraph per section, not 1-3")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw embedder side")
    ap.add_argument(
        "--raw-every", type=int, default=1, help="raw side embeds every n-th chunk (a sample)"
    )
    ap.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = ap.parse_args()
    embed = _PackagedMiniLM(preferred_providers=["CPUExecutionProvider"])
    embed(["warm up"])
    per_slice = args.files // args.slices
    with tempfile.TemporaryDirectory(prefix="assistant-ingest-bench-") as name:
        tmp = Path(name)
        corpus = tmp / "corpus"
        generated = make_corpus(corpus, args.slices, per_slice, args.small)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env |= {"ASSISTANT_DATA_DIR": str(tmp / "data"), "ASSISTANT_CONFIG": str(tmp / "none")}
        runs, raws = [], []
        for k in range(args.slices):  # ABBA: a load that comes and goes hits both sides
            part = corpus / f"part{k}"
            sides = ("raw", "product") if k % 2 else ("product", "raw")
            for side in sides:
                if side == "product":
                    runs.append(run_ingest(part, env, per_slice + (len(BROKEN) if k == 0 else 0)))
                elif not args.no_raw:
                    raws.append(
                        raw_embed_seconds(part, Settings().embed_batch, embed, args.raw_every)
                    )
        again = run_ingest(corpus, env, args.slices * per_slice + len(BROKEN))
        stats = subprocess.run(
            [ASSISTANT, "collections", "--json"], env=env, capture_output=True, text=True
        )
        chunks = sum(c["chunks"] or 0 for c in json.loads(stats.stdout))
    files = args.slices * per_slice
    rows = table(runs, raws, again, files=files, chunks=chunks, generated=generated)
    print("| metric | value | target | note |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "again": again, "raw": raws}, indent=2))


def make_corpus(corpus: Path, slices: int, per_slice: int, small: bool) -> float:
    """One folder of generated files per slice, the broken files in the first; returns
    the seconds it took."""
    t0 = time.perf_counter()
    paragraphs = (1, 1) if small else (1, 3)
    for k in range(slices):
        write_mixed_corpus(corpus / f"part{k}", per_slice, seed=k, paragraphs=paragraphs)
    for broken, data in BROKEN.items():
        (corpus / "part0" / broken).write_bytes(data)
    return time.perf_counter() - t0


def table(
    runs: list[dict[str, Any]],
    raws: list[tuple[int, float]],
    again: dict[str, Any],
    *,
    files: int,
    chunks: int,
    generated: float,
) -> list[tuple[str, str, str, str]]:
    """The rows: the product's rates, against the raw embedder's, the re-run, memory."""
    secs = sum(float(r["seconds"]) for r in runs)
    failed = sum(len(r["failed"]) for r in runs)
    rows = [
        ("Corpus", f"{files:,} files + {len(BROKEN)} broken", "", f"made in {generated:.0f} s"),
        ("Chunks stored", f"{chunks:,}", "", ""),
        ("Ingest", f"{secs:.0f} s", "", f"{len(runs)} run(s) into one store"),
        ("  files/s", f"{files / secs:.1f}", "", ""),
        (
            "  chunks/s",
            f"{chunks / secs:.1f}",
            "",
            "whole process: start, load, chunk, embed, write",
        ),
        ("  failed files reported", f"{failed}", f"= {len(BROKEN)}", ""),
    ]
    if raws:
        raw_rate = sum(n for n, _ in raws) / sum(t for _, t in raws)
        ratio = chunks / secs / raw_rate
        rows += [
            (
                "Raw embedder, same chunks",
                f"{raw_rate:.1f} chunks/s",
                "",
                f"{sum(n for n, _ in raws):,} chunks",
            ),
            ("Ratio product / raw", f"{ratio:.2f}", ">= 0.9", "ok" if ratio >= 0.9 else "MISSED"),
        ]
    embedding = sum(float(r.get("embed_seconds", 0)) for r in runs)
    rows.append(
        (
            "Product / its own embedder",
            f"{embedding / secs:.2f}",
            ">= 0.9",
            "the embedder's share of the runs' time, as `assistant ingest` reports it:"
            " measured in the same process, so a machine's changing speed cancels out",
        )
    )
    share = 100 * float(again["seconds"]) / secs
    rows.append(
        (
            "Unchanged re-run",
            f"{again['seconds']:.1f} s = {share:.1f}%",
            "< 5%",
            "ok" if share < 5 else "MISSED",
        )
    )
    return rows + memory_rows(runs)


def memory_rows(runs: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Peak RSS of each run as the store grows, and within each run at every quarter."""
    peaks = " / ".join(f"{r['peak_mib']:.0f}" for r in runs)
    rows = [("Peak RSS of each run, as the store grows", peaks, "flat", "MiB")]
    for n, run in enumerate(runs, 1):
        q = run["quarters_mib"]
        quarters = " / ".join(f"{q.get(i, 0):.0f}" for i in (1, 2, 3, 4))
        rows.append((f"RSS at 1/4 .. 4/4 of run {n}'s files", quarters, "flat", "MiB"))
    return rows


if __name__ == "__main__":
    main()
