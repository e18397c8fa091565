"""Run a suite through exactly the chat path: `Assistant.ask`, stream consumed, scored.

Nothing here retrieves or prompts on its own, so a score measures what people get. Runs are
deterministic (temperature 0, the fixed seed of the settings) and never write the chat log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from assistant.answering import Answer
from assistant.conversation import Turn
from assistant.errors import AssistantError, BackendUnavailable, EmbedderMismatch
from assistant.evaluation.metrics import CaseResult, basename, is_refusal, score, summarize
from assistant.evaluation.suite import Case, Suite
from assistant.evaluation.versions import versions
from assistant.factory import Components
from assistant.quoting import GENERATED_HEAD, best_quotes
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
    control: list[CaseResult] = field(default_factory=list)  # follow-ups asked alone


def run_case(
    parts: Components,
    case: Case,
    *,
    k: int,
    generate: bool,
    history: list[Turn] | None = None,
) -> CaseResult:
    """Ask one case; with `history` (a conversation's turns so far) as a follow-up, and
    the answer appended to it as the next turn."""
    result = CaseResult(
        id=case.id,
        question=case.question,
        tags=list(case.tags),
        must_refuse=case.must_refuse,
        expected_sources=list(case.sources),
        retrieved=[],
        conversation=case.conversation,
        turn=case.turn,
    )
    try:
        turns = tuple(history or ())
        stream = parts.assistant.ask(case.question, collection=case.collection, k=k, history=turns)
        result.retrieved = [basename(s.source) for s in stream.sources]
        answer = stream.result() if generate else stream.answer
        result.standalone_query, result.turns_used = answer.standalone_query, answer.turns_used
        if history is not None:
            history.append(_turn(answer))
        gate_refused = answer.refused
        result.generated = generate and not gate_refused
        result.answer = answer.text
        result.refused = gate_refused or (result.generated and is_refusal(answer.text))
        result.first_token_s = answer.timings.get("first_token_s")
        result.total_s = answer.timings.get("total_s")
        _checkable(answer, result)
    except (BackendUnavailable, EmbedderMismatch):
        raise  # every other case would fail the same way: stop with the one-line reason
    except AssistantError as exc:
        result.error = str(exc)
    score(case, result, generated_answer=generate)
    return result


def _turn(answer: Any) -> Turn:
    return Turn.from_dict(
        {"question": answer.question, "answer": answer.text, "refused": answer.refused,
         "sources": [{"source": s.source, "cited": s.cited} for s in answer.sources]}
    )  # fmt: skip


def _context_turn(parts: Components, case: Case, question: str, generate: bool) -> Turn:
    """An unscored turn of a conversation, asked so the next ones have their history."""
    stream = parts.assistant.ask(question, collection=case.collection)
    return _turn(stream.result() if generate else stream.answer)


def run_control(parts: Components, cases: Sequence[Case], *, k: int) -> list[CaseResult]:
    """The follow-ups asked alone, retrieval and gate only: what history adds."""
    alone = [replace(c, conversation=None, turn=0, before=()) for c in cases if c.is_followup]
    return [run_case(parts, c, k=k, generate=False) for c in alone]


def _checkable(answer: Answer, result: CaseResult) -> None:
    """The supporting sentence, the model's own part of the answer and its marks."""
    result.answer_style = answer.answer_style
    top = best_quotes([s.evidence for s in answer.sources], limit=1)
    result.evidence = top[0][1].text if top else ""
    if result.generated and answer.answer_style != "quoted":
        result.generated_answer = answer.text.split(GENERATED_HEAD, 1)[-1].strip()
        result.unsupported = [r for c in answer.unsupported for r in c.reasons]


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
    conversations: dict[str, list[Turn]] = {}
    for position, case in enumerate(cases, start=1):
        history = None
        if case.conversation is not None:
            history = conversations.setdefault(case.conversation, [])
            for question in case.before[len(history) :]:  # unscored or deselected turns
                history.append(_context_turn(parts, case, question, generate))
        result = run_case(parts, case, k=k, generate=generate, history=history)
        run.results.append(result)
        if on_case:
            on_case(position, result)
    run.seconds = round(time.perf_counter() - started, 2)
    run.control = run_control(parts, cases, k=k)
    run.summary = summarize(run.results, run.control)
    return run
