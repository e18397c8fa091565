"""The run as a Markdown report: for a pull request, a wiki page or a model-choice memo."""

from __future__ import annotations

from typing import Any

from assistant.evaluation.metrics import REPORTED
from assistant.evaluation.suite import METRICS
from assistant.evaluation.terminal import control_line, fmt, label, turn


def _md(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _mark(case: dict[str, Any], check: str) -> str:
    if check not in case["checks"]:
        return "–"
    if case["checks"][check]:
        return f"rank {case['rank']}" if check == "hit" else "✓"
    return "✗"


def markdown_report(data: dict[str, Any]) -> str:
    lines = [
        *_header(data),
        *_metrics_table(data),
        *_latency_and_versions(data),
        *_comparison(data["comparison"]),
        *_cases_table(data["cases"]),
        *_misses(data["cases"]),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _header(data: dict[str, Any]) -> list[str]:
    suite, verdict = data["suite"], data["verdict"]
    return [
        f"# Eval: {suite['name']}",
        "",
        f"**{'PASS' if verdict['passed'] else 'FAIL'}** · {suite['cases']} cases · "
        f"{data['started_at']} · {data['seconds']:.0f}s · suite `{suite['sha256']}`",
        "",
        *(f"- FAIL: {reason}" for reason in verdict["failures"]),
        *([""] if verdict["failures"] else []),
    ]


def _metrics_table(data: dict[str, Any]) -> list[str]:
    """Gated metrics with their thresholds (and the baseline's), then the reported ones."""
    summary, comparison = data["summary"], data["comparison"]
    lines = [
        "| metric | value | threshold | cases |" + (" baseline | change |" if comparison else ""),
        "| --- | --- | --- | --- |" + (" --- | --- |" if comparison else ""),
    ]
    for metric in METRICS:
        minimum = data["thresholds"]["minimum"][metric]
        row = (
            f"| {metric} | {fmt(summary[metric])} |"
            f" {'report only' if minimum is None else f'≥ {minimum:.2f}'} |"
            f" {summary['measured_by'][metric]} |"
        )
        if comparison:
            moved = comparison["metrics"][metric]
            delta = "n/a" if moved["delta"] is None else f"{moved['delta']:+.3f}"
            row += f" {fmt(moved['baseline'])} | {delta} |"
        lines.append(row)
    for metric in REPORTED:
        count = summary.get("reported_by", {}).get(metric, 0)
        lines.append(
            f"| {metric} | {fmt(summary.get(metric))} | report only | {count} |"
            + (" | |" if comparison else "")
        )
    if control := control_line(summary):
        lines += ["", control[0].upper() + control[1:] + "."]
    return lines


def _latency_and_versions(data: dict[str, Any]) -> list[str]:
    lat, v = data["summary"]["latency"], data["versions"]
    return [
        "",
        f"Latency over {lat['generated']} generated answers: first token p50"
        f" {lat['first_token_s']['p50']}s, p95 {lat['first_token_s']['p95']}s;"
        f" total p50 {lat['total_s']['p50']}s, p95 {lat['total_s']['p95']}s.",
        "",
        "## Versions",
        "",
        f"- model `{v['model']}`, embedder `{v['embedder']}`, prompt `{v['prompt']}`",
        *(
            f"- corpus `{name}`: {c['documents']} documents `{c['sha256']}`,"
            f" {c['chunks']} chunks `{c.get('chunks_sha256')}`"
            for name, c in v["corpus"].items()
        ),
        "- settings: " + ", ".join(f"{k}={val}" for k, val in v["settings"].items()),
    ]


def _comparison(comparison: dict[str, Any] | None) -> list[str]:
    if not comparison:
        return []
    lines = ["", f"## Against {comparison['baseline']}", ""]
    for word in ("better", "worse"):
        items = comparison[word] or [{"id": "nothing", "change": ""}]
        lines += [f"**{word.capitalize()}:**", ""]
        lines += [f"- {_md(c['id'])}{': ' + c['change'] if c['change'] else ''}" for c in items]
        lines.append("")
    lines += [f"- version changed: {c}" for c in comparison["versions_changed"]]
    return lines


def _cases_table(cases: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "## Cases",
        "",
        "| # | case | turn | sources | answer | refusal | total s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, case in enumerate(cases, start=1):
        total = "–" if case["total_s"] is None else f"{case['total_s']:.1f}"
        lines.append(
            f"| {n} | {_md(label(case))} | {_md(turn(case)) or '–'} | {_mark(case, 'hit')} |"
            f" {_mark(case, 'answer')} |"
            f" {_mark(case, 'refusal')} | {total} |"
        )
    return lines


def _misses(cases: list[dict[str, Any]]) -> list[str]:
    """Each failed or errored case in full: what was asked, retrieved and answered."""
    failed = [c for c in cases if not all(c["checks"].values()) or c["error"]]
    if not failed:
        return []
    lines = ["", "## Misses", ""]
    for case in failed:
        missed = ", ".join(c for c, ok in case["checks"].items() if not ok) or "error"
        lines += [
            f"### {_md(label(case, 120))}",
            "",
            f"- question: {_md(case['question'])}",
            *(
                [f"- searched as: {_md(case['standalone_query'])}"]
                if case.get("turn", 0) >= 2
                else []
            ),
            f"- failed: {missed}",
            f"- expected sources: {', '.join(case['expected_sources']) or '–'};"
            f" retrieved: {', '.join(case['retrieved']) or '–'}",
            f"- answer: {_md(case['error'] or case['answer']) or '–'}",
            "",
        ]
    return lines
