"""Re-syncing edited files: what an edit costs, as a user runs `assistant ingest`.

Makes a handbook (Markdown, ~300 paragraphs), a report (PDF, 40 pages) and a mail with
that report attached, ingests them, then changes them one way at a time and re-ingests
(`assistant ingest --json`, a real process each time). Per change it prints the chunks
written, how many of them were embedded again (the others kept their stored vectors, as
each file's result line says), and the run's seconds (the embedder's in brackets; the rest
is mostly the process starting) against the first ingest of the same file, which is what
every change cost before vectors were re-used.

    .venv/bin/python bench/edit_bench.py [--paragraphs 300] [--pages 40] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from corpus import paragraph

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.mail import letter  # the tests' builders of real files
from support.pdfs import text_pdf

ASSISTANT = str(Path(sys.executable).with_name("assistant"))
AGAIN = re.compile(r"(\d+) of \d+ chunks embedded again")


def ingest(env: dict[str, str], *args: str) -> tuple[float, float, int, int]:
    """One `assistant ingest` run: its seconds, the embedder's part of them, the chunks it
    wrote and how many of them it embedded."""
    started = time.perf_counter()
    done = subprocess.run(
        [ASSISTANT, "ingest", "--json", *args], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    written = embedded = 0
    report = json.loads(done.stdout)
    for result in report["files"]:
        if result["status"] in ("added", "updated"):
            written += result["chunks"]
            if "nothing re-embedded" not in result["reason"]:
                again = AGAIN.search(result["reason"])
                embedded += int(again.group(1)) if again else result["chunks"]
    return seconds, report["embed_seconds"], written, embedded


@dataclass
class Files:
    handbook: Path
    report: Path
    mail: Path
    paragraphs: list[str]  # the handbook's
    pages: list[list[str]]  # the report's lines
    attached: bytes  # the report as the mail carries it


def make(folder: Path, paragraphs: int, pages: int) -> Files:
    rng = random.Random(7)
    texts = [paragraph(rng) for _ in range(paragraphs)]
    lines = [[paragraph(rng).replace(". ", ".\n") for _ in range(3)] for _ in range(pages)]
    pdf = text_pdf(["\n".join(page) for page in lines])
    made = Files(folder / "handbook.md", folder / "report.pdf", folder / "mail" / "q3.eml",
                 texts, lines, pdf)  # fmt: skip
    made.handbook.write_text(_markdown(texts))
    made.report.write_bytes(pdf)
    made.mail.parent.mkdir()
    made.mail.write_bytes(letter("Quarterly report", "The report is attached.", {"q3.pdf": pdf}))
    return made


def _markdown(texts: list[str]) -> str:
    parts = ["# Handbook"]
    for i, text in enumerate(texts):
        parts += [f"## Part {i // 10 + 1}"] if i % 10 == 0 else []
        parts.append(text)
    return "\n\n".join(parts) + "\n"


def changes(made: Files) -> list[tuple[str, str, Callable[[], list[str]]]]:
    """(what changed, the first ingest it compares with, the change: returns the args)."""
    texts, middle = made.paragraphs, len(made.paragraphs) // 2
    renamed_mail = made.mail.with_name("q3-final.eml")

    def sentence() -> list[str]:
        texts[middle] = texts[middle].replace(".", ", as agreed.", 1)
        made.handbook.write_text(_markdown(texts))
        return [str(made.handbook)]

    def inserted() -> list[str]:
        texts.insert(middle, paragraph(random.Random(99)))
        made.handbook.write_text(_markdown(texts))
        return [str(made.handbook)]

    def page() -> list[str]:
        changed = [list(p) for p in made.pages]
        changed[len(changed) // 2][0] = "This page was revised in December."
        made.report.write_bytes(text_pdf(["\n".join(p) for p in changed]))
        return [str(made.report)]

    def renamed() -> list[str]:
        made.mail.rename(renamed_mail)
        return ["--prune", str(made.mail.parent)]

    def body() -> list[str]:
        new = letter("Quarterly report", "The final report is attached.", {"q3.pdf": made.attached})
        renamed_mail.write_bytes(new)
        return ["--prune", str(made.mail.parent)]

    return [
        ("handbook: one sentence changed", "handbook", sentence),
        ("handbook: a paragraph inserted in the middle", "handbook", inserted),
        ("report PDF: one page changed", "report", page),
        ("mail with the report attached: file renamed", "mail", renamed),
        ("mail: body edited, same attachment", "mail", body),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paragraphs", type=int, default=300)
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="assistant-edit-bench-") as name:
        tmp = Path(name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env |= {"ASSISTANT_DATA_DIR": str(tmp / "data"), "ASSISTANT_CONFIG": str(tmp / "none")}
        folder = tmp / "docs"
        folder.mkdir()
        made = make(folder, args.paragraphs, args.pages)
        first = {
            "handbook": ingest(env, str(made.handbook)),
            "report": ingest(env, str(made.report)),
            "mail": ingest(env, "--prune", str(made.mail.parent)),
        }
        rows = [(what, base, *ingest(env, *change())) for what, base, change in changes(made)]
    print("| change, then `assistant ingest` | chunks written | embedded again | seconds"
          " (embedding) | first ingest of it |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for what, base, seconds, embedding, written, embedded in rows:
        s0, e0, w0, _ = first[base]
        print(
            f"| {what} | {written} | {embedded} | {seconds:.1f} ({embedding:.1f}) |"
            f" {s0:.1f} s ({e0:.1f}), {w0} chunks |"
        )
    if args.json:
        args.json.write_text(json.dumps({"first": first, "edits": rows}, indent=2))


if __name__ == "__main__":
    main()
