"""The run as tables on the terminal: one row per case, then the totals and the verdict.

Every report (this one, JUnit, Markdown) renders the same JSON document that `--out` saves,
so what a person reads and what CI parses cannot disagree.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from assistant.evaluation.metrics import REPORTED, check_metric
from assistant.evaluation.suite import METRICS


def label(case: dict[str, Any], width: int = 64) -> str:
    text = str(case["id"] if case["id"] != case["question"] else case["question"])
    if case.get("turn"):  # a conversation's turn: the question, marked as a follow-up
        text = ("↳ " if case["turn"] >= 2 else "") + str(case["question"])
    return text if len(text) <= width else text[: width - 1] + "…"


def turn(case: dict[str, Any]) -> str:
    """`CONVERSATION#N` for a conversation's turn, "" for a question asked alone."""
    return case["id"] if case.get("turn") else ""


def cell(case: dict[str, Any], check: str, gated: set[str]) -> str:
    """ok / FAIL (gated) / miss (reported only) / - (not checked) for one check of a case."""
    if check not in case["checks"]:
        return "-"
    if case["checks"][check]:
        return f"rank {case['rank']}" if check == "hit" else "ok"
    failed = check_metric(check, case.get("turn", 0)) in gated
    return "[red]FAIL[/]" if failed else "[yellow]miss[/]"


def _seconds(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def control_line(summary: dict[str, Any]) -> str:
    """The follow-ups asked alone (no conversation), beside the follow-up metrics."""
    control = summary.get("control")
    if not control:
        return ""
    return (
        f"control, the same {control['cases']} follow-ups asked alone (retrieval and gate):"
        f" hit_rate {fmt(control['hit_rate'])} (with history {fmt(summary['followup_hit_rate'])}),"
        f" hit_at_2 {fmt(control['hit_at_2'])} (with history {fmt(summary['followup_hit_at_2'])}),"
        f" mrr {fmt(control['mrr'])}, refusal_accuracy {fmt(control['refusal_accuracy'])}"
    )


def render(data: dict[str, Any], console: Console) -> None:
    gated = {m for m, v in data["thresholds"]["minimum"].items() if v is not None}
    console.print(_cases_table(data, gated, console.width))
    console.print(_totals_table(data))
    if line := control_line(data["summary"]):
        console.print(line, highlight=False)
    _print_run(data, console)
    if data["comparison"]:
        _print_changes(data["comparison"], console)
    _print_verdict(data["verdict"], console)


def _cases_table(data: dict[str, Any], gated: set[str], width: int) -> Table:
    suite = data["suite"]
    cases = Table(title=f"{suite['name']}: {suite['cases']} cases", box=box.SIMPLE_HEAD)
    cases.add_column("#", justify="right", no_wrap=True)
    cases.add_column("case", no_wrap=True, overflow="ellipsis", max_width=max(30, width - 80))
    cases.add_column("turn", no_wrap=True, overflow="ellipsis", max_width=16)
    for name in ("sources", "answer", "refusal", "1st token s", "total s"):
        right = name.endswith(" s")
        cases.add_column(
            name, justify="right" if right else "left", no_wrap=True, min_width=len(name)
        )
    for n, case in enumerate(data["cases"], start=1):
        name = label(case, 200) + (f"\n[red]error: {case['error']}[/]" if case["error"] else "")
        refusal = cell(case, "refusal", gated)
        if refusal == "-" and case["refused"]:
            refusal = "[yellow]refused[/]"  # an answerable question the assistant declined
        cases.add_row(
            str(n),
            name,
            turn(case),
            cell(case, "hit", gated),
            cell(case, "answer", gated),
            refusal,
            _seconds(case["first_token_s"]),
            _seconds(case["total_s"]),
        )
    return cases


def _totals_table(data: dict[str, Any]) -> Table:
    """Each metric against its threshold (and against the baseline, when there is one)."""
    comparison, summary = data["comparison"], data["summary"]
    totals = Table(box=box.SIMPLE_HEAD)
    for name in ("metric", "value", "threshold", "cases"):
        totals.add_column(name)
    if comparison:
        totals.add_column("baseline")
        totals.add_column("change")
    for metric in METRICS:
        minimum = data["thresholds"]["minimum"][metric]
        row = [
            metric,
            fmt(summary[metric]),
            "report only" if minimum is None else f">= {minimum:.2f}",
            str(summary["measured_by"][metric]),
        ]
        if comparison:
            moved = comparison["metrics"][metric]
            delta = moved["delta"]
            row += [fmt(moved["baseline"]), "n/a" if delta is None else f"{delta:+.3f}"]
        totals.add_row(*row)
    for metric in REPORTED:  # how checkable the answers are; never gated
        row = [metric, fmt(summary.get(metric)), "report only"]
        row.append(str(summary.get("reported_by", {}).get(metric, 0)))
        totals.add_row(*row, *(["", ""] if comparison else []))
    return totals


def _print_run(data: dict[str, Any], console: Console) -> None:
    """Latency, run time and the versions the numbers belong to."""
    lat, v = data["summary"]["latency"], data["versions"]
    ttft, total = lat["first_token_s"], lat["total_s"]
    console.print(
        f"latency over {lat['generated']} generated answers: first token p50"
        f" {_seconds(ttft['p50'], 's')} p95 {_seconds(ttft['p95'], 's')},"
        f" total p50 {_seconds(total['p50'], 's')} p95 {_seconds(total['p95'], 's')};"
        f" run {data['seconds']:.0f}s"
    )
    corpus = ", ".join(
        f"{name} {c['documents']} docs {c['sha256']}, {c['chunks']} chunks {c.get('chunks_sha256')}"
        for name, c in v["corpus"].items()
    )
    console.print(
        f"model {v['model']} · embedder {v['embedder']} · prompt {v['prompt']}"
        f" · corpus {corpus} · k {v['settings']['top_k']}",
        highlight=False,
    )


def _print_changes(comparison: dict[str, Any], console: Console) -> None:
    for word, key in (("better", "better"), ("worse", "worse")):
        for change in comparison[key]:
            console.print(
                f"  {word}: {label({'id': change['id'], 'question': ''})}: {change['change']}"
            )
    for change in comparison["versions_changed"]:
        console.print(f"  version changed: {change}", highlight=False)


def _print_verdict(verdict: dict[str, Any], console: Console) -> None:
    if verdict["passed"]:
        console.print("[green]PASS[/]")
    else:
        for reason in verdict["failures"]:
            console.print(f"[red]FAIL[/] {reason}")
