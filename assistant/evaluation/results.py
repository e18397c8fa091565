"""A run as JSON: written with `--out`, read back as the `--baseline` of a later run."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.evaluation.metrics import CaseResult
from assistant.evaluation.runner import Run
from assistant.evaluation.suite import Thresholds

FORMAT = "onprem-assistant-eval/1"
_CASE_FIELDS = {f.name for f in fields(CaseResult)}
_REQUIRED = {"id", "question", "tags", "must_refuse", "expected_sources", "retrieved", "checks"}


def case_to_dict(result: CaseResult, gated: set[str]) -> dict[str, Any]:
    return {
        **asdict(result),
        "reciprocal_rank": round(result.reciprocal_rank, 4),
        "passed": not result.failed_checks(gated),
    }


def case_from_dict(data: dict[str, Any]) -> CaseResult:
    return CaseResult(**{k: v for k, v in data.items() if k in _CASE_FIELDS})


def run_to_dict(
    run: Run,
    thresholds: Thresholds,
    failures: list[str],
    comparison: dict[str, Any] | None,
) -> dict[str, Any]:
    gated = {m for m, v in thresholds.minimum.items() if v is not None}
    return {
        "format": FORMAT,
        "suite": {
            "name": run.suite.name,
            "path": str(run.suite.path),
            "sha256": run.suite.sha256,
            "cases": len(run.cases),
        },
        "started_at": run.started_at,
        "seconds": run.seconds,
        "options": run.options,
        "versions": run.versions,
        "thresholds": {"minimum": thresholds.minimum, "max_drop": thresholds.max_drop},
        "summary": run.summary,
        "verdict": {"passed": not failures, "failures": failures},
        "comparison": comparison,
        "cases": [case_to_dict(r, gated) for r in run.results],
        "control": [case_to_dict(r, gated) for r in run.control],
    }


def write_json(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def load_result(path: Path) -> dict[str, Any]:
    """An earlier run's JSON, checked enough that comparing with it cannot crash."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AssistantError(f"{path}: no such baseline file") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AssistantError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise AssistantError(f"{path}: not an eval result (expected format '{FORMAT}')")
    cases = data.get("cases")
    if not isinstance(cases, list) or not all(
        isinstance(c, dict) and c.keys() >= _REQUIRED for c in cases
    ):
        raise AssistantError(f"{path}: eval result without a valid 'cases' list")
    return data
