"""Time to first token of a follow-up, against the same question asked alone.

For each follow-up of the shipped suite's conversations (tests/eval/seed_suite.yaml), the
first turn is answered once by the packaged model, as in a chat; then, in ABBA order with
both KV caches reset before every call (no prefix reuse on either side):

- follow-up: `Assistant.ask(question, history=[first turn])`: the fused retrieval (3
  searches) and a prompt holding the earlier turn within `history_tokens`;
- alone: `Assistant.ask(standalone)`, where `standalone` is the query the follow-up was
  searched as: the same words, one search, no earlier turn in the prompt.

The faster of each side's two runs counts (load from other processes only adds time).
The row's target: median per-question ratio <= 1.15.

    .venv/bin/python bench/followup_bench.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.answering import Assistant
from assistant.cli.wiring import index_files
from assistant.conversation import Turn
from assistant.evaluation.suite import load_suite
from assistant.factory import Components
from bench import ROOT, SEEDS, Row, _settings, cpu_seconds, isolate_settings, table

SUITE = ROOT / "tests" / "eval" / "seed_suite.yaml"


def first_token(ask: Assistant, question: str, history: list[Turn]) -> tuple[float, Any]:
    ask.model._llm.reset()  # type: ignore[attr-defined]  # cold KV cache: no prefix reuse
    started = time.perf_counter()
    stream = ask.ask(question, history=history)
    pieces = iter(stream)
    next(pieces, None)  # the first token is all this measures: stop generating there
    took = time.perf_counter() - started
    pieces.close()  # type: ignore[attr-defined]
    return took, stream.answer


def follow_ups() -> list[tuple[str, str]]:
    suite = load_suite(SUITE)
    return [
        (c.before[0], c.question)
        for c in suite.cases
        if c.turn == 2 and c.sources and not c.must_refuse
    ]


def measure(tmp: Path, limit: int) -> tuple[list[Row], list[dict[str, Any]]]:
    parts = Components(_settings(tmp, "followup"))
    index_files(parts, [SEEDS])
    ask = parts.assistant
    first_token(ask, "When was Llama 2 released?", [])  # warm: model, ONNX, BM25
    samples = []
    for i, (first, question) in enumerate(follow_ups()[:limit]):
        earlier = ask.ask(first).result()
        history = [Turn(first, earlier.text)]
        _, probe = first_token(ask, question, history)
        standalone = probe.standalone_query
        runs: dict[str, list[float]] = {"follow": [], "alone": []}
        answers: dict[str, Any] = {}
        for side in ("alone", "follow", "follow", "alone") if i % 2 else ("follow", "alone") * 2:
            took, answers[side] = (
                first_token(ask, question, history)
                if side == "follow"
                else first_token(ask, standalone, [])
            )
            runs[side].append(took)
        samples.append(
            {
                "question": question,
                "standalone": standalone,
                "follow_s": min(runs["follow"]),
                "alone_s": min(runs["alone"]),
                "follow_tokens": answers["follow"].prompt_tokens,
                "alone_tokens": answers["alone"].prompt_tokens,
                "turns_used": answers["follow"].turns_used,
                "runs": runs,
            }
        )
    med = {
        k: statistics.median(s[k] for s in samples)
        for k in samples[0]
        if k.endswith(("_s", "_tokens"))
    }
    ratio = statistics.median(s["follow_s"] / s["alone_s"] for s in samples)
    used = sum(s["turns_used"] for s in samples)
    note = f"{len(samples)} follow-ups; earlier turn in the prompt for {used}"
    follow, alone = med["follow_s"], med["alone_s"]
    tokens = f"follow-up {med['follow_tokens']:.0f}, alone {med['alone_tokens']:.0f}"
    rows = [
        Row("TTFT follow-up (history, fused retrieval), median best-of-2", follow, "s", note=note),
        Row("TTFT same question alone (its standalone query), median", alone, "s", note=tokens),
        Row("TTFT ratio follow-up / alone, median per question", ratio, "x", ("<=", 1.15)),
    ]
    return rows, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the raw samples here")
    parser.add_argument("--limit", type=int, default=13, help="how many follow-ups (of 13)")
    args = parser.parse_args()
    started, (busy0, mine0) = time.perf_counter(), cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        isolate_settings(Path(tmp) / "no-such-config.toml")
        rows, samples = measure(Path(tmp), args.limit)
    print(table(rows))
    (busy, mine), seconds = cpu_seconds(), time.perf_counter() - started
    others = (busy - busy0 - (mine - mine0)) / seconds
    print(f"\n{seconds:.0f} s; other processes used {others:.2f} of {os.cpu_count()} cores.")
    if args.json:
        args.json.write_text(json.dumps(samples, indent=2) + "\n")


if __name__ == "__main__":
    main()
