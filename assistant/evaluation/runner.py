"""Run a suite through exactly the chat path: `Assistant.ask`, stream consumed, scored.

Nothing here retrieves or prompts on its own, so a score measures what people get. Runs are
deterministic (temperature 0, the fixed seed of the settings) and never write the chat log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant.errors import AssistantError, BackendUnavailable, EmbedderMismatch
from assistant.evaluation.metrics import CaseResult, basename, is_refusal, score, summarize
from assistant.evaluation.suite import Case, Suite
from assistant.evaluation.versions import versions
from assistant.factory import Components
from assistant.settings import Settings

OnCase = Callable[[int, CaseResult], None]  # 1-based position, finished result


def eval_settings(**overrides: Any) -> Settings:
    """Settings for a run: the user's, made deterministic, with the chat log off."""
    return Settings.load(**{**overrides, "temperature": 0.0, "chat_log": False})


@dataclass
class Run:
    suite: Suite
    cases: list[Case]  # the ones run (all, or those with the selected tags)
    results: list[CaseResult]
    versions: dict[str, Any]
    options: dict[str, Any]
    started_at: str
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)


def run_case(parts: Components, case: Case, *, k: int, generate: bool) -> CaseResult:
    result = CaseResult(
        id=case.id,
        question=case.question,
        tags=list(case.tags),
        must_refuse=case.must_refuse,
        expected_sources=list(case.sources),
        retrieved=[],
    )
    try:
        stream = parts.assistant.ask(case.question, collection=case.collection, k=k)
        result.retrieved = [basename(s.source) for s in stream.sources]
        answer = stream.result() if generate else stream.answer
        gate_refused = answer.refused
        result.generated = generate and not gate_refused
        result.answer = answer.text
        result.refused = gate_refused or (result.generated and is_refusal(answer.text))
        result.first_token_s = answer.timings.get("first_token_s")
        result.total_s = answer.timings.get("total_s")
    except (BackendUnavailable, EmbedderMismatch):
        raise  # every other case would fail the same way: stop with the one-line reason
    except AssistantError as exc:
        result.error = str(exc)
    score(case, result, generated_answer=generate)
    return result


def select_cases(suite: Suite, tags: Sequence[str] = ()) -> list[Case]:
    cases = [c for c in suite.cases if not tags or set(tags) & set(c.tags)]
    if not cases:
        raise AssistantError(f"{suite.path}: no case has any of the tags {', '.join(tags)}")
    return cases


def run_suite(
    parts: Components,
    suite: Suite,
    *,
    k: int | None = None,
    generate: bool = True,
    tags: Sequence[str] = (),
    on_case: OnCase | None = None,
) -> Run:
    """Ask every case (or those tagged with any of `tags`) and score the answers."""
    k = k or parts.settings.top_k
    cases = select_cases(suite, tags)
    collections = {c.collection or parts.settings.collection for c in cases}
    run = Run(
        suite=suite,
        cases=cases,
        results=[],
        versions=versions(parts, collections, top_k=k),
        options={"k": k, "generate": generate, "tags": list(tags)},
        started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
    )
    started = time.perf_counter()
    for position, case in enumerate(cases, start=1):
        result = run_case(parts, case, k=k, generate=generate)
        run.results.append(result)
        if on_case:
            on_case(position, result)
    run.seconds = round(time.perf_counter() - started, 2)
    run.summary = summarize(run.results)
    return run
