"""The new formats at scale (issue 16.10): OCR pages per second and its share of a mixed
ingest, spreadsheet rows per second, and peak memory as the file grows (it must stay flat:
pages, rows and slides are streamed).

Each measurement runs in its own process (`--one KIND SIZE`), so its peak RSS (from
`os.wait4`) is that file's alone. Loading means the product's path minus embedding:
`open_document`, every section, `iter_chunks`. The OCR share is measured end to end:
`assistant ingest` of a mixed corpus with and without a scanned PDF in it.

    .venv/bin/python bench/formats_bench.py                 # ~15 minutes on 2 cores
    .venv/bin/python bench/formats_bench.py --pages 5,10 --rows 10000,20000 --files 60
    .venv/bin/python bench/formats_bench.py --only scan --pages 50,200,500   # RSS vs pages
    .venv/bin/python bench/formats_bench.py --only text --text 500,2000      # no OCR
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]
ASSISTANT = str(Path(sys.executable).with_name("assistant"))


def make_xlsx(path: Path, rows: int) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Sales")
    sheet.append(["Region", "Quarter", "Product", "Units", "Revenue", "Owner"])
    for i in range(rows):
        sheet.append([f"Region {i % 40}", f"Q{i % 4 + 1}", f"P-{i}", i % 97, i * 1.5, "A. N."])
    book.save(path)


def make_scan(path: Path, pages: int) -> None:
    """A scanned PDF of `pages` pages, black and white at 200 DPI as an office scanner
    writes them (CCITT G4, ~55 KB a page, so 500 pages fit `max_file_mb`), one page at
    a time."""
    from pypdf import PdfReader, PdfWriter
    from support.scans import scanned_page

    writer = PdfWriter()
    for i in range(pages):
        lines = [f"Ward report {i}: {n} beds, {i % 7} nurses on duty." for n in range(12)]
        with tempfile.NamedTemporaryFile(suffix=".pdf") as one:
            scanned_page(lines, seed=i).convert("1").save(one, "PDF", resolution=200)
            one.flush()
            writer.add_page(PdfReader(one.name).pages[0])
    with open(path, "wb") as f:
        writer.write(f)


def make_text_pdf(path: Path, pages: int) -> None:
    """A PDF with a text layer on every page (nothing to OCR)."""
    from support.pdfs import text_pdf

    body = "\n".join(f"Clause {n}: staff file the form within {n % 9 + 1} days." for n in range(40))
    path.write_bytes(text_pdf([f"Page {i}\n{body}" for i in range(pages)]))


def load_once(path: Path, progress: int = 0) -> dict[str, float]:
    """In this (child) process: load and chunk one file, no embedding. With `progress`,
    the peak RSS so far is printed (stderr) every that many sections (pages)."""
    from ingest.chunking import iter_chunks
    from ingest.loaders import open_document

    started = time.perf_counter()
    doc = open_document(path)
    if progress:
        doc.sections = _reporting(doc.sections, progress, started)
    chunks = sum(1 for _ in iter_chunks(doc, chunk_size=700, chunk_overlap=100, collection="c"))
    return {"seconds": time.perf_counter() - started, "chunks": chunks}


def _reporting(sections: Iterable[Any], every: int, started: float) -> Iterator[Any]:
    for n, section in enumerate(sections, start=1):
        if n % every == 0:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            took = time.perf_counter() - started
            print(
                f"{n} sections, {took:.0f} s, peak RSS {peak:.0f} MiB", file=sys.stderr, flush=True
            )
        yield section


def measure(kind: str, size: int, folder: Path, progress: int = 0) -> dict[str, float]:
    makers = {"xlsx": make_xlsx, "scan": make_scan, "text": make_text_pdf}
    path = folder / f"{kind}{size}.{'xlsx' if kind == 'xlsx' else 'pdf'}"
    if not path.exists():
        makers[kind](path, size)
    cmd = [sys.executable, __file__, "--one", str(path), "--progress", str(progress)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"measuring {path} failed")
    result = json.loads(out)
    result["rss_mib"] = usage.ru_maxrss / 1024
    result["size"] = size
    return result


def timed_ingest(folder: Path, data: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {"ASSISTANT_DATA_DIR": str(data), "ASSISTANT_CONFIG": str(data / "none.toml")}
    env["ASSISTANT_AUTO_SEED"] = "false"
    started = time.perf_counter()
    subprocess.run([ASSISTANT, "ingest", str(folder)], env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def ocr_share(folder: Path, files: int, pages: int) -> tuple[float, float]:
    from corpus import write_mixed_corpus

    mixed = folder / "mixed"
    write_mixed_corpus(mixed, files, seed=7, paragraphs=(2, 4))
    without = timed_ingest(mixed, folder / "data-a")
    make_scan(mixed / "scanned.pdf", pages)
    with_scan = timed_ingest(mixed, folder / "data-b")
    return without, with_scan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--pages", default="10,20,40", help="scanned PDF sizes, in pages")
    parser.add_argument("--rows", default="25000,50000,100000", help="XLSX sizes, in rows")
    parser.add_argument("--files", type=int, default=200, help="mixed corpus for the OCR share")
    parser.add_argument("--text", default="", help="text-layer PDF sizes, in pages (none)")
    parser.add_argument("--only", choices=("xlsx", "scan", "text"), help="only this, no OCR share")
    parser.add_argument("--progress", type=int, default=0, help="print the peak RSS every N pages")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(load_once(Path(args.one), args.progress)))
        return
    rows = [int(x) for x in args.rows.split(",")] if args.only in (None, "xlsx") else []
    pages = [int(x) for x in args.pages.split(",")] if args.only in (None, "scan") else []
    texts = [int(x) for x in args.text.split(",") if x] if args.only in (None, "text") else []
    print("| measurement | size | seconds | per second | peak RSS |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in rows:
            r = measure("xlsx", n, folder)
            rate = f"{n / r['seconds']:,.0f} rows"
            print(f"| XLSX load + chunk | {n:,} rows | {r['seconds']:.1f} | {rate} | "
                  f"{r['rss_mib']:.0f} MiB |")  # fmt: skip
        for n in pages:
            r = measure("scan", n, folder, args.progress)
            rate = f"{n / r['seconds']:.2f} pages"
            print(f"| scanned PDF, OCR + chunk | {n} pages | {r['seconds']:.1f} | {rate} | "
                  f"{r['rss_mib']:.0f} MiB |")  # fmt: skip
        for n in texts:
            r = measure("text", n, folder)
            print(f"| text PDF load + chunk | {n} pages | {r['seconds']:.1f} | "
                  f"{n / r['seconds']:.0f} pages | {r['rss_mib']:.0f} MiB |")  # fmt: skip
        if args.only:
            return
        without, with_scan = ocr_share(folder, args.files, pages[0])
        share = (with_scan - without) / with_scan
        what = f"| `assistant ingest`, {args.files} mixed files | without / with a {pages[0]}-page"
        print(f"{what} scan | {without:.1f} / {with_scan:.1f} | OCR: {share:.0%} of the time | |")


if __name__ == "__main__":
    main()
