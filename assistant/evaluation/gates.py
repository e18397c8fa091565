"""Pass or fail: thresholds on the totals, and drops against a baseline run.

A run fails when a gated metric (one with a numeric threshold) is below its minimum, or,
with a baseline, fell by more than `max_drop` on the cases both runs share. Metrics with a
null threshold are reported and compared but never fail a run: that is how a demo-sized
model's answer rate is shown without making CI flaky. Single cases flipping are listed as
better or worse; only the totals decide, so one noisy case does not fail a build.
"""

from __future__ import annotations

from typing import Any

from assistant.evaluation.metrics import CaseResult, summarize
from assistant.evaluation.results import case_from_dict
from assistant.evaluation.suite import METRICS, Thresholds

_EPS = 1e-9
_CHECK_WORDS = {
    "hit": ("an expected source is now retrieved", "no expected source retrieved any more"),
    "answer": ("the answer now matches", "the answer no longer matches"),
    "refusal": ("now refuses, as it must", "no longer refuses"),
}


def gated(thresholds: Thresholds) -> set[str]:
    return {m for m, v in thresholds.minimum.items() if v is not None}


def _case_changes(old: CaseResult, new: CaseResult) -> tuple[list[str], list[str]]:
    better: list[str] = []
    worse: list[str] = []
    for check, (up, down) in _CHECK_WORDS.items():
        if check in old.checks and check in new.checks and old.checks[check] != new.checks[check]:
            (better if new.checks[check] else worse).append(up if new.checks[check] else down)
    if old.rank and new.rank and old.rank != new.rank:
        change = f"expected source rank {old.rank} -> {new.rank}"
        (better if new.rank < old.rank else worse).append(change)
    if bool(old.error) != bool(new.error):
        (worse if new.error else better).append(f"error: {new.error}" if new.error else "no error")
    return better, worse


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def compare(
    results: list[CaseResult], versions: dict[str, Any], baseline: dict[str, Any], name: str
) -> dict[str, Any]:
    """What changed since the baseline; totals are recomputed on the cases both runs have."""
    old = {c.id: c for c in map(case_from_dict, baseline["cases"])}
    new = {r.id: r for r in results}
    shared = [i for i in new if i in old]
    before = summarize([old[i] for i in shared])
    after = summarize([new[i] for i in shared])
    better, worse = [], []
    for case_id in shared:
        up, down = _case_changes(old[case_id], new[case_id])
        better += [{"id": case_id, "change": c} for c in up]
        worse += [{"id": case_id, "change": c} for c in down]
    then, now = _flatten(baseline.get("versions") or {}), _flatten(versions)
    return {
        "baseline": name,
        "shared_cases": len(shared),
        "added": [i for i in new if i not in old],
        "removed": [i for i in old if i not in new],
        "metrics": {
            m: {
                "baseline": before[m],
                "current": after[m],
                "delta": None
                if before[m] is None or after[m] is None
                else round(after[m] - before[m], 4),
            }
            for m in METRICS
        },
        "better": better,
        "worse": worse,
        "baseline_versions": baseline.get("versions"),
        "versions_changed": [
            f"{k}: {then[k]} -> {now[k]}" for k in sorted(then) if k in now and then[k] != now[k]
        ],
    }


def failures(
    summary: dict[str, Any], thresholds: Thresholds, comparison: dict[str, Any] | None
) -> list[str]:
    """One line per reason the run fails; empty means it passes."""
    out = []
    for metric in METRICS:
        minimum, value = thresholds.minimum.get(metric), summary.get(metric)
        if minimum is None or value is None:
            continue
        if value < minimum - _EPS:
            out.append(f"{metric} {value:.3f} is below the threshold {minimum:.3f}")
        if comparison is None:
            continue
        moved = comparison["metrics"][metric]
        if moved["delta"] is not None and moved["delta"] < -thresholds.max_drop - _EPS:
            out.append(
                f"{metric} dropped from {moved['baseline']:.3f} to {moved['current']:.3f}"
                f" against the baseline (more than max_drop {thresholds.max_drop:.3f})"
            )
    return out
