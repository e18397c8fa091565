"""What identity and accountability cost, as one Markdown table: the audit trail's record
of a question (alone, and as the difference it makes to `Assistant.ask` on the seed
corpus), and `audit verify` per record.

    .venv/bin/python bench/bench_identity.py [--questions 200]

Everything runs in a temporary data dir (SQLite users database, embedded Chroma).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

QUESTIONS = [
    "When was Llama 2 released?",
    "Under what licence are the Llama weights published?",
    "What did Meta say about open-weights models?",
    "How large is the biggest Llama 3 model?",
]


def ms(samples: list[float], q: float = 0.5) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def audit_rows(data_dir: Path, n: int) -> list[tuple[str, str, str]]:
    from conftest import make_settings  # the tests' settings: no user config, seed corpus

    from assistant.answering import Assistant
    from assistant.cli.wiring import index_files
    from assistant.factory import Components

    parts = Components(make_settings(data_dir, audit=True))
    index_files(parts, [parts.settings.seed_path()])
    audited = parts.assistant  # AuditedAssistant
    plain = Assistant(parts.retriever, parts.model, max_answer_tokens=64)
    trail = parts.trail
    sources = [
        {"collection": "documents", "source": f"/srv/docs/file-{i}.pdf", "anchor": f"page {i}"}
        for i in range(4)
    ]
    record = [
        timed(lambda: trail.record("ask", "documents", collections=["documents"], sources=sources))
        for _ in range(n)
    ]
    with_audit, without = [], []
    for i in range(n):  # paired, so load on the machine hits both alike
        q = QUESTIONS[i % len(QUESTIONS)]
        pair = [(with_audit, audited), (without, plain)]
        for samples, assistant in pair if i % 2 else reversed(pair):  # ABBA: no order bias
            samples.append(timed(lambda a=assistant, q=q: a.ask(q)))
    diffs = [a - b for a, b in zip(with_audit, without, strict=True)]
    count = len(list(trail.all()))
    verify = timed(trail.verify)
    return [
        (
            "audit record of a question (4 sources), p50 / p95",
            f"{ms(record):.2f} / {ms(record, 0.95):.2f} ms",
            "< 2 ms p50",
        ),
        (
            "`Assistant.ask` until sources, without / with audit, p50",
            f"{ms(without):.1f} / {ms(with_audit):.1f} ms",
            "",
        ),
        (
            "added by the audit trail to a question, p50 of paired differences",
            f"{statistics.median(diffs) * 1000:.2f} ms",
            "< 2 ms",
        ),
        ("`audit verify`", f"{count} records in {verify * 1000:.0f} ms", ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += audit_rows(Path(tmp) / "audit", args.questions)
    print("| metric | value | target |\n|---|---|---|")
    for metric, value, target in rows:
        print(f"| {metric} | {value} | {target} |")


if __name__ == "__main__":
    main()
