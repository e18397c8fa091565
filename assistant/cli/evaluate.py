"""`assistant eval`: run a regression suite, or turn a logged answer into a new case.

Exit codes: 0 every gate passed, 1 a threshold or a baseline regression failed (each
reason printed) or the suite is malformed (`error: SUITE:LINE: reason`), 2 wrong usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assistant.chatlog import ChatLog, LogEntry
from assistant.cli.wiring import ensure_seeded
from assistant.errors import AssistantError
from assistant.evaluation.editing import append_case
from assistant.evaluation.gates import compare, failures
from assistant.evaluation.junit import junit_xml
from assistant.evaluation.markdown import markdown_report
from assistant.evaluation.metrics import CaseResult, basename
from assistant.evaluation.results import load_result, run_to_dict, write_json
from assistant.evaluation.runner import OnCase, eval_settings, run_suite, select_cases
from assistant.evaluation.suite import METRICS, load_suite
from assistant.evaluation.terminal import label, render
from assistant.factory import Components
from assistant.settings import Settings


class _DefaultRun(click.Group):
    """`assistant eval SUITE ...` is short for `assistant eval run SUITE ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _settings(*, run: bool = False, **overrides: Any) -> Settings:
    """The user's settings (for a run: deterministic, chat log off); errors in one line."""
    return eval_settings(**overrides) if run else Settings.load()


def _thresholds(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for item in values:
        metric, _, raw = item.partition("=")
        if metric not in METRICS:
            raise click.BadParameter(f"'{item}': metric must be one of {', '.join(METRICS)}")
        try:
            value = None if raw.lower() in ("off", "none", "null") else float(raw)
        except ValueError:
            raise click.BadParameter(f"'{item}': use METRIC=0.9, or METRIC=off") from None
        if value is not None and not 0 <= value <= 1:
            raise click.BadParameter(f"'{item}': a threshold is from 0 to 1")
        out[metric] = value
    return out


@contextmanager
def _progress(total: int) -> Iterator[OnCase]:
    """A progress bar on a terminal; one plain line per case in CI logs."""
    console = Console(stderr=True)
    if console.is_terminal:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task("eval", total=total)
            yield lambda n, r: bar.update(task, advance=1, description=label(_dict(r), 40))
        return

    def line(n: int, result: CaseResult) -> None:
        failed = [c for c, ok in result.checks.items() if not ok]
        status = "error" if result.error else ("miss " + ",".join(failed) if failed else "ok")
        took = f" {result.total_s:.1f}s" if result.total_s is not None else ""
        click.echo(f"[{n}/{total}] {status}{took}  {label(_dict(result), 70)}", err=True)

    yield line


def _dict(result: CaseResult) -> dict[str, str]:
    return {"id": result.id, "question": result.question}


@click.group("eval", cls=_DefaultRun)
def eval_group() -> None:
    """Regression suites: `assistant eval SUITE` runs one; `eval add` grows one."""


@eval_group.command("run")
@click.argument("suite_path", metavar="SUITE", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--backend", type=click.Choice(["llamacpp", "ollama", "openai"]), help="Chat backend."
)
@click.option("--model", help="A GGUF file (llamacpp) or a model name (ollama, openai).")
@click.option("-k", "top_k", type=click.IntRange(1, 50), help="Sources per question.")
@click.option("--max-tokens", type=click.IntRange(16, 8192), help="Longest answer, in tokens.")
@click.option("--baseline", type=click.Path(path_type=Path), help="An earlier results.json.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Report folder.")
@click.option(
    "-t",
    "--threshold",
    "overrides",
    multiple=True,
    metavar="METRIC=MIN",
    callback=_thresholds,
    help="Override a suite threshold, e.g. -t answer_rate=0.6 or -t mrr=off.",
)
@click.option("--max-drop", type=click.FloatRange(0, 1), help="Largest drop vs the baseline.")
@click.option("--tag", "tags", multiple=True, help="Run only cases with this tag (repeatable).")
@click.option("--retrieval-only", is_flag=True, help="Score retrieval; do not generate answers.")
@click.option(
    "--answer-style",
    type=click.Choice(["auto", "generated", "quoted", "both"]),
    help="How answers are given (default: the answer_style setting).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results JSON, not tables.")
def run_command(
    suite_path: Path,
    backend: str | None,
    model: str | None,
    top_k: int | None,
    max_tokens: int | None,
    baseline: Path | None,
    out: Path | None,
    overrides: dict[str, float | None],
    max_drop: float | None,
    tags: tuple[str, ...],
    retrieval_only: bool,
    as_json: bool,
    answer_style: str | None = None,
) -> None:
    """Run every case of SUITE through the chat path; score, report and gate it."""
    suite = load_suite(suite_path)  # a malformed suite fails before any model loads
    previous = load_result(baseline) if baseline else None
    given: dict[str, Any] = {"backend": backend, "top_k": top_k, "max_answer_tokens": max_tokens}
    given["answer_style"] = answer_style
    chosen = _settings(run=True, **given)
    if model:
        field = {"ollama": "ollama_model", "openai": "openai_model"}.get(
            chosen.backend, "model_path"
        )
        chosen = _settings(run=True, **given, **{field: model})
    parts = Components(chosen)
    ensure_seeded(parts)
    with _progress(len(select_cases(suite, tags))) as on_case:
        run = run_suite(parts, suite, generate=not retrieval_only, tags=tags, on_case=on_case)
    thresholds = suite.thresholds.with_overrides(overrides, max_drop)
    comparison = None
    if previous is not None:
        comparison = compare(run.results, run.versions, previous, str(baseline))
    failed = failures(run.summary, thresholds, comparison)
    data = run_to_dict(run, thresholds, failed, comparison)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        for reason in failed:
            click.echo(f"FAIL {reason}", err=True)
    else:
        render(data, Console(highlight=False, width=None if sys.stdout.isatty() else 120))
    if out:
        try:
            out.mkdir(parents=True, exist_ok=True)
            write_json(data, out / "results.json")
            (out / "junit.xml").write_text(junit_xml(data), encoding="utf-8")
            (out / "report.md").write_text(markdown_report(data), encoding="utf-8")
        except OSError as exc:
            raise AssistantError(f"{out}: cannot write the reports ({exc.strerror})") from exc
        click.echo(f"wrote {out}/results.json, junit.xml, report.md", err=True)
    if failed:
        sys.exit(1)


@eval_group.command("add")
@click.argument("suite_path", metavar="SUITE", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--entry", "entry_id", help="Chat log entry id (see `assistant eval log`).")
@click.option("--last", type=click.IntRange(1), default=1, help="The N-th most recent answer.")
@click.option(
    "--from-feedback",
    "feedback_id",
    type=int,
    help="A feedback id (see `assistant feedback`): the voted answer becomes the case.",
)
@click.option("--expect", multiple=True, help="A substring a right answer contains (repeatable).")
@click.option("--regex", help="A regular expression a right answer matches.")
@click.option("--source", "sources", multiple=True, help="A file the answer must come from.")
@click.option("--must-refuse", is_flag=True, help="The documents don't answer this question.")
@click.option("--tag", "tags", multiple=True, help="Tag the case (repeatable).")
def add_command(
    suite_path: Path,
    entry_id: str | None,
    last: int,
    expect: tuple[str, ...],
    regex: str | None,
    sources: tuple[str, ...],
    must_refuse: bool,
    tags: tuple[str, ...],
    feedback_id: int | None = None,
) -> None:
    """Append a logged question to SUITE as a case (default: the last answer logged).

    Without --source, the case expects the sources the logged answer cited (else its top
    source): review them, and add --expect for the fact a right answer must contain.
    """
    if must_refuse and (expect or regex or sources):
        raise click.UsageError("--must-refuse cannot be combined with --expect/--regex/--source")
    settings = _settings()
    if feedback_id is not None:
        entry = _feedback_entry(feedback_id, settings)
    else:
        entry = ChatLog(settings.chat_log_dir).find(entry_id, last)
    if not (sources or must_refuse):
        cited = [s["source"] for s in entry.sources if s.get("cited")]
        sources = tuple(cited or [s["source"] for s in entry.sources[:1]])
    if not (must_refuse or sources or expect or regex):
        raise AssistantError(
            f"entry {entry.id} was refused and cites nothing: pass --must-refuse if that is"
            " right, or --expect/--source for what it should answer"
        )
    case: dict[str, Any] = {"question": entry.question}
    if entry.collection != settings.collection:
        case["collection"] = entry.collection
    if expect:
        case["expect"] = list(expect)
    if regex:
        case["regex"] = regex
    if sources:
        case["sources"] = sorted({basename(s) for s in sources})
    if must_refuse:
        case["must_refuse"] = True
    if tags:
        case["tags"] = list(tags)
    said = " ".join(entry.answer.split())
    comments = [
        f"from {'' if feedback_id else 'chat log entry '}{entry.id} ({entry.time}, {entry.model})",
        f"it answered: {said[:150]}{'…' if len(said) > 150 else ''}",
    ]
    if not (expect or regex or must_refuse):
        comments.append("TODO: add `expect: [...]` with the fact a right answer contains")
    suite, line = append_case(suite_path, case, comments)
    click.echo(f"added case {len(suite.cases)} at {suite_path}:{line}: {entry.question}")


def _feedback_entry(feedback_id: int, settings: Settings) -> LogEntry:
    """A feedback row in the shape of a chat log entry (question, answer, sources)."""
    from assistant.cli.feedback import feedback_log

    f = feedback_log().get(feedback_id)
    collection = f.collection if f.collection and "," not in f.collection else settings.collection
    return LogEntry(
        id=f"feedback {f.id}",
        time=f.time,
        question=f.question,
        collection=collection,
        answer=f.answer,
        refused=False,
        model=f"{f.model}, voted {f.vote} by {f.user}"
        + (f": {' '.join(f.comment.split())[:100]}" if f.comment else ""),
        sources=f.sources,
    )


@eval_group.command("log")
@click.option("-n", "count", type=click.IntRange(1), default=10, help="How many entries.")
def log_command(count: int) -> None:
    """List the most recent logged answers, newest first, with their ids."""
    for n, entry in enumerate(ChatLog(_settings().chat_log_dir).newest_first(), start=1):
        if n > count:
            break
        flag = " refused" if entry.refused else ""
        click.echo(f"{entry.id}  {entry.time}{flag}  {entry.question}")
