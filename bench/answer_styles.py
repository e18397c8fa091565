"""Answer styles side by side, from `assistant eval --answer-style STYLE --out DIR` runs of
the shipped suite, as one Markdown table: answer rate, wrong-answer rate, refusal
accuracy, evidence hit, and how often the claim check marks wrong and right answers.

    assistant eval tests/eval/seed_suite.yaml --answer-style quoted --out runs/quoted
    assistant eval tests/eval/seed_suite.yaml --answer-style generated --out runs/generated
    assistant eval tests/eval/seed_suite.yaml --answer-style both --out runs/both
    .venv/bin/python bench/answer_styles.py runs/quoted runs/generated runs/both
    .venv/bin/python bench/answer_styles.py runs/quoted runs/generated \
        --compose-both runs/generated runs/quoted     # `both` without a third model run
    .venv/bin/python bench/answer_styles.py --overhead   # time of the checks per question

`--overhead` times, per suite question over the seed corpus (no chat model), the
supporting-sentence step and the claim check of a two-sentence answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.checks import Checks  # noqa: E402

SUITE = ROOT / "tests" / "eval" / "seed_suite.yaml"


def _fmt(value: float | None, count: int | None = None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" + (f" ({round(value * count)}/{count})" if count else "")


def style_table(dirs: list[Path]) -> str:
    rows = [
        "| style | answer rate | wrong-answer rate | refusal accuracy | evidence hit"
        " | flagged wrong | flagged right | total p50 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for folder in dirs:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        s, by = data["summary"], data["summary"]["measured_by"]
        rep = s.get("reported_by", {})
        style = data["versions"]["settings"].get("answer_style", "?")
        p50 = s["latency"]["total_s"]["p50"]
        rows.append(
            f"| {style} | {_fmt(s['answer_rate'], by['answer_rate'])}"
            f" | {_fmt(s['wrong_rate'], rep.get('wrong_rate'))}"
            f" | {_fmt(s['refusal_accuracy'], by['refusal_accuracy'])}"
            f" | {_fmt(s['evidence_hit'], rep.get('evidence_hit'))}"
            f" | {_fmt(s['flagged_wrong'], rep.get('flagged_wrong'))}"
            f" | {_fmt(s['flagged_right'], rep.get('flagged_right'))}"
            f" | {'n/a' if p50 is None else f'{p50:.1f} s'} |"
        )
    return "\n".join(rows)


def compose_both(generated: Path, quoted: Path, out: Path) -> Path:
    """A `both` run made of a `generated` and a `quoted` run of the same code and corpus:
    `both` sends the model the same prompt as `generated` (the quote is not in it), at
    temperature 0 with the same seed, so its model part is the generated run's answer;
    its text is the quoted run's answer, then that. Scored like a real run."""
    from assistant.evaluation.metrics import score, summarize
    from assistant.evaluation.results import case_from_dict
    from assistant.evaluation.suite import load_suite
    from assistant.quoting import GENERATED_HEAD

    gen = json.loads((generated / "results.json").read_text(encoding="utf-8"))
    quo = json.loads((quoted / "results.json").read_text(encoding="utf-8"))
    cases = {c.id: c for c in load_suite(SUITE).cases}
    quotes = {c["id"]: c for c in quo["cases"]}
    results = []
    for data in gen["cases"]:
        result = case_from_dict(data)
        quote = quotes[result.id]
        if not result.refused and not quote["refused"]:
            result.answer = f"{quote['answer']}\n\n{GENERATED_HEAD}\n\n{result.answer}"
        result.answer_style = "both"
        result.checks = {}
        score(cases[result.id], result, generated_answer=True)
        results.append(result)
    gen["summary"] = summarize(results)
    gen["versions"]["settings"]["answer_style"] = "both (composed)"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(gen, default=str), encoding="utf-8")
    return out


def _seeded_parts(tmp: str):  # type: ignore[no-untyped-def]
    """The product's parts over the seed corpus in a temporary data dir, settings clean."""
    import os

    for name in [n for n in os.environ if n.startswith("ASSISTANT_")]:
        del os.environ[name]
    os.environ["ASSISTANT_CONFIG"] = str(Path(tmp) / "absent.toml")
    from assistant.cli.wiring import index_files
    from assistant.factory import Components
    from assistant.settings import Settings

    parts = Components(Settings.load(data_dir=Path(tmp), auto_seed=False))
    index_files(parts, [ROOT / "seeds"])
    return parts


def recheck(run: Path, out: Path) -> Path:
    """The run's answers with the claim check of the code as it is now (the model's answers
    do not depend on the check, so tuning it needs no new model run): each generated
    answer is checked against the same sources retrieval gives its question."""
    from assistant.evaluation.metrics import summarize
    from assistant.evaluation.results import case_from_dict

    data = json.loads((run / "results.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        parts = _seeded_parts(tmp)
        checks = Checks.build(parts.store.embedder, "generated")  # no chat model needed
        results = []
        for case in data["cases"]:
            result = case_from_dict(case)
            if result.generated_answer:
                hits = parts.retriever.retrieve(result.question).hits
                texts = [h.chunk.text for h in hits]
                claims = checks.claims.check(result.question, result.generated_answer, texts)
                result.unsupported = [r for c in claims for r in c.reasons]
            results.append(result)
    data["summary"] = summarize(results)
    data["cases"] = [
        {**c, "unsupported": r.unsupported} for c, r in zip(data["cases"], results, strict=True)
    ]
    data["versions"]["settings"]["answer_style"] += " (claims re-checked)"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, default=str), encoding="utf-8")
    return out


def overhead() -> str:
    """Milliseconds per question of the supporting-sentence step and the claim check."""
    from assistant.evaluation.suite import load_suite

    with tempfile.TemporaryDirectory() as tmp:
        parts = _seeded_parts(tmp)
        find, check = [], []
        for case in load_suite(SUITE).cases:
            texts = [h.chunk.text for h in parts.retriever.retrieve(case.question).hits]
            if not texts:
                continue
            checks = Checks.build(parts.store.embedder, "generated")  # a cold cache each time
            started = time.perf_counter()
            found = checks.finder.find(case.question, texts)
            find.append(time.perf_counter() - started)
            # One sentence the sources hold, one they do not (both new to the embedder).
            quote = next((e.text for f in found for e in f), "")
            answer = f"As the sources say, {quote} It happened in 2031 at Acme Corp."
            started = time.perf_counter()
            checks.claims.check(case.question, answer, texts)
            check.append(time.perf_counter() - started)
    return (
        "| step | p50 | max | questions |\n| --- | --- | --- | --- |\n"
        f"| supporting sentences (all sources) | {median(find) * 1000:.0f} ms"
        f" | {max(find) * 1000:.0f} ms | {len(find)} |\n"
        f"| claim check (two new sentences) | {median(check) * 1000:.0f} ms"
        f" | {max(check) * 1000:.0f} ms | {len(check)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="*", type=Path, help="eval --out folders")
    parser.add_argument("--overhead", action="store_true", help="time the checks")
    parser.add_argument(
        "--compose-both",
        nargs=2,
        type=Path,
        metavar=("GENERATED", "QUOTED"),
        help="add a `both` row made of these two runs (see compose_both)",
    )
    parser.add_argument(
        "--recheck", type=Path, metavar="RUN", help="add RUN with its claims re-checked"
    )
    args = parser.parse_args()
    if args.recheck:
        args.dirs.append(recheck(args.recheck, Path(tempfile.mkdtemp(prefix="recheck-"))))
    if args.compose_both:
        made = Path(tempfile.mkdtemp(prefix="both-"))
        args.dirs.append(compose_both(*args.compose_both, made))
    if not (args.dirs or args.overhead or args.compose_both or args.recheck):
        parser.error("give eval --out folders, or --overhead")
    if args.dirs:
        print(style_table(args.dirs))
    if args.overhead:
        print(overhead())


if __name__ == "__main__":
    main()
