"""Scoring: what one case got right, and the suite's totals.

Retrieval is scored on the sources given to the model, in their order: hit@k (an expected
file among them) and reciprocal rank (1/rank of the first expected file). Files compare by
basename, so a suite works wherever the corpus is checked out. An answer matches when it
contains any `expect` substring or the `regex` (case-insensitive). An answer counts as a
refusal when the relevance gate declined to ask the model, or the model said the documents
don't cover the question (REFUSAL below).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from assistant.evaluation.suite import BASE_METRICS, FOLLOWUP, Case

REFUSAL = re.compile(
    r"\b(?:do|does|did)(?: not|n't) (?:cover|contain|mention|provide|include|say|specify)"
    r"|\bnot (?:covered|mentioned|specified)\b|\bno (?:information|mention)\b"
    r"|\b(?:cannot|can't|unable to) (?:answer|find|determine)\b",
    re.IGNORECASE,
)
# Each per-case check feeds one metric; a check whose metric is not gated never fails a case.
CHECK_METRIC = {"hit": "hit_rate", "answer": "answer_rate", "refusal": "refusal_accuracy"}


def check_metric(check: str, turn: int = 0) -> str:
    """The metric a check feeds: a follow-up's (turn 2 on) feed the `followup_` ones."""
    return (FOLLOWUP if turn >= 2 else "") + CHECK_METRIC[check]


def _normal(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\u2011", "-").split()).casefold()


def basename(source: str) -> str:
    return PurePath(source.replace("\\", "/")).name


def matches(case: Case, answer: str) -> bool:
    text = _normal(answer)
    if any(_normal(e) in text for e in case.expect):
        return True
    return bool(case.regex and re.search(case.regex, answer, re.IGNORECASE))


def is_refusal(answer: str) -> bool:
    return bool(REFUSAL.search(_normal(answer)))


@dataclass
class CaseResult:
    id: str
    question: str
    tags: list[str]
    must_refuse: bool
    expected_sources: list[str]
    retrieved: list[str]  # basenames of the sources given to the model, best first
    answer: str = ""
    refused: bool = False
    generated: bool = False  # the model was asked (not refused by the relevance gate)
    rank: int | None = None  # 1-based rank of the first expected source among `retrieved`
    checks: dict[str, bool] = field(default_factory=dict)  # hit / answer / refusal
    first_token_s: float | None = None
    total_s: float | None = None
    error: str | None = None
    conversation: str | None = None  # a turn of this conversation (None: asked alone)
    turn: int = 0  # 1-based turn in the conversation
    standalone_query: str = ""  # what a follow-up was searched as
    turns_used: int = 0  # earlier turns the prompt held

    @property
    def is_followup(self) -> bool:
        return self.turn >= 2

    answer_style: str = "generated"
    evidence: str = ""  # the top supporting sentence (what a quoted answer opens with)
    evidence_hit: bool | None = None  # the expected answer is inside it (answerable cases)
    generated_answer: str = ""  # the model's own words (for `both`: after the quote)
    generated_right: bool | None = None  # they contain the expected answer
    unsupported: list[str] = field(default_factory=list)  # reasons the claim check gave

    @property
    def reciprocal_rank(self) -> float:
        return 1.0 / self.rank if self.rank else 0.0

    def failed_checks(self, gated: set[str] | None = None) -> list[str]:
        """Checks that failed; with `gated`, only those whose metric is gated."""
        return [
            c
            for c, ok in self.checks.items()
            if not ok and (gated is None or check_metric(c, self.turn) in gated)
        ]


def score(case: Case, result: CaseResult, *, generated_answer: bool) -> None:
    """Fill in rank and the checks; `generated_answer` False means retrieval-only."""
    expected = {basename(s) for s in case.sources}
    result.rank = next((i for i, s in enumerate(result.retrieved, 1) if s in expected), None)
    if expected:
        result.checks["hit"] = result.rank is not None
    if case.must_refuse:
        result.checks["refusal"] = result.refused
    elif case.checks_answer and generated_answer:
        result.checks["answer"] = not result.error and matches(case, result.answer)
    if case.checks_answer and not case.must_refuse:
        result.evidence_hit = bool(result.evidence) and matches(case, result.evidence)
    if case.checks_answer and result.generated_answer and not is_refusal(result.generated_answer):
        result.generated_right = matches(case, result.generated_answer)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarize(results: list[CaseResult], control: list[CaseResult] | None = None) -> dict[str, Any]:
    """Suite totals; a metric no case measures is None (not 0), so it is never gated.
    Single questions and follow-ups are scored apart (`followup_*`); `control` is the
    follow-ups asked alone, reported beside them."""
    single = _totals([r for r in results if not r.is_followup])
    followups = _totals([r for r in results if r.is_followup])
    out = {k: v for k, v in single.items() if k != "measured_by"}
    out.update({FOLLOWUP + m: followups[m] for m in BASE_METRICS})
    out["measured_by"] = {
        **single["measured_by"],
        **{FOLLOWUP + m: n for m, n in followups["measured_by"].items()},
    }
    out["cases"], out["errors"] = len(results), sum(1 for r in results if r.error)
    out["latency"] = _latency(results)
    # Reported beside the gated metrics, never gated: over single questions, as the other
    # totals; a follow-up's supporting sentence is reported apart.
    out.update(checkable([r for r in results if not r.is_followup]))
    out["followup_evidence_hit"] = checkable([r for r in results if r.is_followup])["evidence_hit"]
    if control:
        alone = _totals(control)
        out["control"] = {m: alone[m] for m in ("hit_rate", "hit_at_2", "mrr", "refusal_accuracy")}
        out["control"]["cases"] = len(control)
    return out


def _totals(results: list[CaseResult]) -> dict[str, Any]:
    with_sources = [r for r in results if "hit" in r.checks]
    answered = [r for r in results if "answer" in r.checks]
    refusals = [r for r in results if "refusal" in r.checks]
    return {
        "hit_rate": _mean([float(r.checks["hit"]) for r in with_sources]),
        "hit_at_2": _mean([float(bool(r.rank and r.rank <= 2)) for r in with_sources]),
        "mrr": _mean([r.reciprocal_rank for r in with_sources]),
        "answer_rate": _mean([float(r.checks["answer"]) for r in answered]),
        "refusal_accuracy": _mean([float(r.checks["refusal"]) for r in refusals]),
        "measured_by": {
            "hit_rate": len(with_sources),
            "hit_at_2": len(with_sources),
            "mrr": len(with_sources),
            "answer_rate": len(answered),
            "refusal_accuracy": len(refusals),
        },
        "refused_answerable": sum(1 for r in results if r.refused and not r.must_refuse),
    }


def _latency(results: list[CaseResult]) -> dict[str, Any]:
    generated = [r for r in results if r.generated and r.total_s is not None]
    ttft = [r.first_token_s for r in generated if r.first_token_s is not None]

    def spread(values: list[float]) -> dict[str, float | None]:
        points = {"p50": percentile(values, 50), "p95": percentile(values, 95)}
        return {k: None if v is None else round(v, 3) for k, v in points.items()}

    return {
        "generated": len(generated),
        "first_token_s": spread(ttft),
        "total_s": spread([r.total_s for r in generated if r.total_s is not None]),
    }


# Reported beside the gated metrics, never gated: how checkable the answers are.
REPORTED = ("evidence_hit", "wrong_rate", "flagged_wrong", "flagged_right")


def checkable(results: list[CaseResult]) -> dict[str, Any]:
    """evidence_hit: share of answerable cases whose top supporting sentence holds the
    expected answer; wrong_rate: share of answerable cases answered (not declined) with
    an answer that lacks it; flagged_wrong / flagged_right: share of the model's wrong /
    right answers that the claim check marked (high / low is good)."""
    hits = [r.evidence_hit for r in results if r.evidence_hit is not None]
    answerable = [r for r in results if "answer" in r.checks]
    wrong = [r for r in results if r.generated_right is False]
    right = [r for r in results if r.generated_right is True]
    return {
        "evidence_hit": _mean([float(h) for h in hits]),
        "wrong_rate": _mean([float(not r.refused and not r.checks["answer"]) for r in answerable]),
        "flagged_wrong": _mean([float(bool(r.unsupported)) for r in wrong]),
        "flagged_right": _mean([float(bool(r.unsupported)) for r in right]),
        "reported_by": {
            "evidence_hit": len(hits),
            "wrong_rate": len(answerable),
            "flagged_wrong": len(wrong),
            "flagged_right": len(right),
        },
    }
