"""`assistant eval`: suites validated to the line, scored on real runs, reported and gated."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import SEED_SUITE, SEEDS

from assistant.evaluation.editing import append_case
from assistant.evaluation.gates import compare, failures, gated
from assistant.evaluation.junit import junit_xml
from assistant.evaluation.markdown import markdown_report
from assistant.evaluation.metrics import is_refusal, matches, percentile
from assistant.evaluation.results import load_result, run_to_dict, write_json
from assistant.evaluation.runner import run_suite
from assistant.evaluation.suite import Case, SuiteError, Thresholds, load_suite

SHIPPED = SEED_SUITE


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- the suite file --------------------------------------------------------------------

MALFORMED = [
    ("cases:\n  - question: A?\n    expect: [July 2023\n  - question: B?\n", 4, "not valid YAML"),
    ("cases:\n  - question: A?\n    expect: x\n  - expect: [x]\n", 4, "case 2 has no 'question'"),
    ("cases:\n  - question: A?\n    expect: x\n    sourcse: [a.txt]\n", 4, "unknown key 'sourcse'"),
    ("cases:\n  - question: A?\n    regex: '(unclosed'\n", 3, "regex does not compile"),
    ("cases:\n  - question: A?\n    sources: a.txt\n", 3, "sources must be a list"),
    ("cases:\n  - question: A?\n    expect: [x, [y]]\n", 3, "each of expect must be"),
    ("cases:\n  - question: A?\n    must_refuse: maybe\n", 3, "must_refuse must be true or false"),
    ("cases:\n  - question: A?\n    must_refuse: true\n    expect: x\n", 2, "cannot have expect"),
    ("cases:\n  - question: A?\n  - question: B?\n    expect: x\n", 2, "case 1 checks nothing"),
    ("cases:\n  - question: A?\n    expect: x\n    expect: y\n", 4, "duplicate key 'expect'"),
    ("cases:\n  - question: A?\n    expect: x\n  - question: A?\n    expect: y\n", 4, "line 2"),
    ("thresholds:\n  hit_rate: 1.5\ncases:\n  - question: A?\n    expect: x\n", 2, "0 to 1"),
    ("thresholds:\n  hitrate: 0.5\ncases:\n  - question: A?\n    expect: x\n", 2, "'hitrate'"),
    ("name: only a name\n", 1, "no 'cases:' list"),
    ("cases: []\n", 1, "non-empty list"),
    ("cases:\n  - just a string\n", 2, "must be a mapping"),
]


@pytest.mark.parametrize(("text", "line", "reason"), MALFORMED)
def test_a_malformed_suite_is_reported_at_its_line(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert reason in message and "\n" not in message


def test_a_valid_suite_loads_with_defaults(tmp_path):
    path = write(
        tmp_path,
        "thresholds:\n  mrr: 0.5\ncases:\n"
        "  - question: When was Llama 2 released?\n    expect: July 2023\n"
        "    sources: [001.txt]\n    tags: timeline\n"
        "  - id: off\n    question: Capital of Peru?\n    must_refuse: true\n",
    )
    suite = load_suite(path)
    first, second = suite.cases
    assert first == Case(
        id="When was Llama 2 released?",
        question="When was Llama 2 released?",
        line=4,
        expect=("July 2023",),
        sources=("001.txt",),
        tags=("timeline",),
    )
    assert second.id == "off" and second.must_refuse and second.line == 8
    assert suite.name == "suite"
    assert suite.thresholds.minimum == {
        "hit_rate": 1.0,
        "hit_at_2": None,
        "mrr": 0.5,
        "answer_rate": 1.0,
        "refusal_accuracy": 1.0,
        # follow-ups: the same defaults as single questions (the suite set mrr only)
        "followup_hit_rate": 1.0,
        "followup_hit_at_2": None,
        "followup_mrr": None,
        "followup_answer_rate": 1.0,
        "followup_refusal_accuracy": 1.0,
    }


def _normal(text: str) -> str:
    """Seed text as read: wiki links, HTML, Markdown emphasis and quote marks removed."""
    text = re.sub(r"<a [^>]*>.*?</a>", "", text)
    text = re.sub(r"\[\[(?:[^|\]]*\|\s*)?([^\]]*)\]\]", r"\1", text)
    text = re.sub(r"[*\"'“”‘’]", "", text.replace("’", "'"))
    text = re.sub(r"\s+([,.;:])", r"\1", " ".join(text.split()))
    return text.casefold()


def test_shipped_suite_covers_every_seed_and_quotes_the_sentence_behind_each_answer():
    suite = load_suite(SHIPPED)
    answerable = [c for c in suite.cases if not c.must_refuse]
    assert len(answerable) >= 25 and sum(c.must_refuse for c in suite.cases) >= 5
    first_sources = Counter(c.sources[0] for c in answerable)
    assert set(first_sources) == {p.name for p in SEEDS.glob("*.txt")}
    assert min(first_sources.values()) >= 5
    corpus = _normal(" ".join(p.read_text() for p in sorted(SEEDS.glob("*.txt"))))
    lines = SHIPPED.read_text().splitlines()
    for case in answerable:
        above = []
        start = case.line  # a conversation's turn: the comment is above the conversation
        if case.conversation:
            start = lines.index(f"  - id: {case.conversation}") + 1
        for line in reversed(lines[: start - 1]):
            if not line.strip().startswith("#"):
                break
            above.insert(0, line.strip().lstrip("#").strip())
        quotes = re.findall(r'"([^"]+)"', " ".join(above))
        assert quotes, f"line {case.line}: no quoted seed sentence above the case"
        for quote in quotes:
            for piece in quote.split("[...]"):
                assert _normal(piece) in corpus, f"line {case.line}: not in the seeds: {piece}"
        assert matches(case, " ".join(quotes)), f"line {case.line}: expect not in the quote"


# --- scoring ---------------------------------------------------------------------------


def test_answers_match_any_expected_substring_or_the_regex_ignoring_case():
    case = Case(id="x", question="x", line=1, expect=("July 2023", "Meta’s"), regex=r"\bQ[1-4]\b")
    assert matches(case, "It came out in JULY   2023.")
    assert matches(case, "meta's licence") and matches(case, "reported in q2")
    assert not matches(case, "It came out in June 2023 (Q5).")


def test_refusals_are_recognised_in_the_models_words_too():
    assert is_refusal("The documents don't cover this: nothing is related.")
    assert is_refusal("The sources do not mention how many employees Meta has.")
    assert not is_refusal("LLaMA 2 was released in July 2023 under a commercial licence [1].")


def test_percentiles_interpolate_and_are_none_without_values():
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([], 50) is None


# --- appending cases (`eval add`) ------------------------------------------------------


def test_append_keeps_comments_and_the_sections_after_the_cases(tmp_path):
    path = write(
        tmp_path,
        "# my suite\ncases:\n  # why this case\n  - question: A?\n    expect: [a]  # note\n"
        "\n# gates below\nthresholds:\n  hit_rate: 0.5\n",
    )
    suite, line = append_case(path, {"question": "B?", "sources": ["b.txt"]}, ["from the log"])
    text = path.read_text()
    assert [c.question for c in suite.cases] == ["A?", "B?"] and line == 7
    assert "  # why this case\n" in text and "expect: [a]  # note\n" in text
    assert "  # from the log\n  - question: B?\n    sources: [b.txt]\n" in text
    assert load_suite(path).thresholds.minimum["hit_rate"] == 0.5


def test_append_creates_a_suite_and_refuses_a_duplicate_question(tmp_path):
    path = tmp_path / "new.yaml"
    append_case(path, {"question": "A?", "must_refuse": True}, [])
    before = path.read_text()
    with pytest.raises(SuiteError, match="repeats the id"):
        append_case(path, {"question": "A?", "must_refuse": True}, [])
    assert path.read_text() == before and len(load_suite(path).cases) == 1


# --- real runs: retrieval-only over the shipped suite, then reports and baselines --------


@pytest.fixture(scope="module")
def runs(seeded):
    """The shipped suite at k=4 (the default) and k=1, retrieval only: no answers generated."""
    suite = load_suite(SHIPPED)
    return (
        suite,
        run_suite(seeded, suite, generate=False),
        run_suite(seeded, suite, k=1, generate=False),
    )


@pytest.mark.slow
def test_retrieval_metrics_follow_from_the_ranks_and_meet_the_shipped_thresholds(runs):
    suite, run, _ = runs
    with_sources = [r for r in run.results if r.expected_sources]
    for r in with_sources:
        ranks = [i for i, name in enumerate(r.retrieved, 1) if name in r.expected_sources]
        assert r.rank == (ranks[0] if ranks else None) and len(r.retrieved) <= 4
        assert r.checks["hit"] == bool(ranks) and "answer" not in r.checks
        assert "known-miss" in r.tags or r.rank, f"unexpected miss: {r.question}"
    for prefix, followup in (("", False), ("followup_", True)):  # scored apart
        scored = [r for r in with_sources if r.is_followup == followup]
        hits = sum(1 for r in scored if r.rank)
        assert run.summary[f"{prefix}hit_rate"] == round(hits / len(scored), 4)
        mrr = sum(1 / r.rank for r in scored if r.rank) / len(scored)
        assert run.summary[f"{prefix}mrr"] == round(mrr, 4)
        top2 = sum(1 for r in scored if r.rank and r.rank <= 2)
        assert run.summary[f"{prefix}hit_at_2"] == round(top2 / len(scored), 4)
    assert run.summary["answer_rate"] is None  # nothing generated, nothing to gate
    for r in run.results:
        if "off-topic" in r.tags:
            assert r.refused and r.retrieved == [] and r.checks == {"refusal": True}
    assert failures(run.summary, suite.thresholds, None) == []
    corpus = run.versions["corpus"]["documents"]
    assert corpus["documents"] == 5 and len(corpus["sha256"]) == 12
    assert run.versions["settings"]["top_k"] == 4 and run.versions["settings"]["temperature"] == 0


@pytest.mark.slow
def test_a_baseline_comparison_lists_what_got_worse_and_better(runs, tmp_path):
    suite, k4, k1 = runs
    path = tmp_path / "k4.json"
    write_json(run_to_dict(k4, suite.thresholds, [], None), path)
    comparison = compare(k1.results, k1.versions, load_result(path), str(path))
    lost = {r.id for r in k4.results if r.rank and r.rank > 1}
    assert lost, "the suite should have expected sources below rank 1 at k=4"
    assert {w["id"] for w in comparison["worse"]} == lost and comparison["better"] == []
    assert all(w["change"] == "no expected source retrieved any more" for w in comparison["worse"])
    drop = comparison["metrics"]["hit_rate"]
    assert drop["delta"] == pytest.approx(drop["current"] - drop["baseline"]) and drop["delta"] < 0
    assert "settings.top_k: 4 -> 1" in comparison["versions_changed"]
    tolerant = Thresholds({m: 0.0 for m in suite.thresholds.minimum}, max_drop=0.5)
    assert failures(k1.summary, tolerant, comparison) == []
    strict = Thresholds({m: 0.0 for m in suite.thresholds.minimum}, max_drop=0.01)
    reasons = failures(k1.summary, strict, comparison)
    assert any(r.startswith("hit_rate dropped") for r in reasons)
    assert any(r.startswith("mrr dropped") for r in reasons)

    back = tmp_path / "k1.json"
    write_json(run_to_dict(k1, suite.thresholds, [], None), back)
    reverse = compare(k4.results, k4.versions, load_result(back), str(back))
    assert {b["id"] for b in reverse["better"]} == lost and reverse["worse"] == []


@pytest.mark.slow
def test_junit_and_markdown_report_each_case_and_each_gate(runs):
    suite, run, _ = runs
    thresholds = suite.thresholds.with_overrides({"mrr": 1.0}, None)  # a gate that fails
    reasons = failures(run.summary, thresholds, None)
    assert reasons and reasons[0].startswith("mrr ")
    data = run_to_dict(run, thresholds, reasons, None)
    root = ET.fromstring(junit_xml(data))
    cases, gates = root.findall("testsuite")
    tests = cases.findall("testcase")
    assert [t.get("name") for t in tests] == [c.id for c in suite.cases]
    failing = {t.get("name") for t in tests if t.find("failure") is not None}
    assert failing == {r.id for r in run.results if r.failed_checks(gated(thresholds))}
    assert cases.get("failures") == str(len(failing)) and cases.get("tests") == str(len(tests))
    gate_results = {t.get("name"): t.find("failure") is None for t in gates.findall("testcase")}
    assert gate_results == {
        "hit_rate >= 0.85": True,
        "mrr >= 1.0": False,
        "refusal_accuracy >= 0.9": True,
        "followup_hit_rate >= 0.9": True,
        "followup_hit_at_2 >= 0.9": True,
        "followup_mrr >= 0.8": True,
        "followup_refusal_accuracy >= 1.0": True,
    }
    report = markdown_report(data)
    assert report.startswith("# Eval: seed corpus\n\n**FAIL**")
    misses = report.split("## Misses")[1]
    for r in run.results:
        assert (f"- question: {r.question}" in misses) == bool(r.failed_checks())


# --- the command -----------------------------------------------------------------------


def test_eval_command_reports_a_malformed_suite_and_bad_usage(tmp_path):
    bad = write(tmp_path, "cases:\n  - question: A?\n    sources: a.txt\n")
    result = run_cli(["eval", str(bad)], tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"error: {bad}:3: sources must be a list of strings, like [a, b]\n"
    good = write(tmp_path, "cases:\n  - question: A?\n    must_refuse: true\n", "good.yaml")
    assert run_cli(["eval", str(good), "-t", "speed=1"], tmp_path).returncode == 2
    missing = run_cli(["eval", str(good), "--baseline", str(tmp_path / "nope.json")], tmp_path)
    assert missing.returncode == 1 and "no such baseline file" in missing.stderr


TINY = """\
name: tiny
thresholds: {hit_rate: 1.0, refusal_accuracy: 1.0, answer_rate: null}
cases:
  - id: quest
    question: What is the Quest operating system now called?
    expect: [Horizon]
    sources: [000_ff4f05a3c6834f76.txt]
  - id: wrong-source  # deliberately the wrong seed: must be reported as a miss
    question: What did the Russian army do in 1812?
    sources: [001_5fec047b8f95376e.txt]
  - id: tungsten
    question: What is the boiling point of tungsten in kelvin?
    must_refuse: true
"""


@pytest.mark.slow
def test_eval_command_runs_scores_writes_reports_and_gates(tmp_path):
    suite = write(tmp_path, TINY)
    out = tmp_path / "first"
    args = ["--max-tokens", "48", "--answer-style", "generated"]  # the model's latency
    result = run_cli(["eval", str(suite), "--out", str(out), *args], tmp_path)
    assert result.returncode == 1, result.stderr
    assert "FAIL hit_rate 0.500 is below the threshold 1.000" in result.stdout
    data = json.loads((out / "results.json").read_text())
    by_id = {c["id"]: c for c in data["cases"]}
    assert by_id["quest"]["checks"]["hit"] and by_id["quest"]["rank"] == 1
    assert by_id["wrong-source"]["checks"] == {"hit": False} and not by_id["wrong-source"]["passed"]
    assert by_id["tungsten"]["checks"] == {"refusal": True} and not by_id["tungsten"]["generated"]
    latency = data["summary"]["latency"]
    assert latency["generated"] == 2
    assert 0 < latency["first_token_s"]["p50"] <= latency["total_s"]["p50"]
    assert data["versions"]["model"].startswith("llamacpp:SmolLM2")
    assert data["versions"]["corpus"]["documents"]["documents"] == 5
    assert data["versions"]["settings"]["max_answer_tokens"] == 48
    junit = ET.parse(out / "junit.xml").getroot()
    failed = [t.get("name") for t in junit.iter("testcase") if t.find("failure") is not None]
    assert failed == ["wrong-source", "hit_rate >= 1.0"]
    assert "| hit_rate | 0.500 | ≥ 1.00 | 2 |" in (out / "report.md").read_text()
    assert "[3/3]" in result.stderr  # one progress line per case when not on a terminal

    again = run_cli(
        ["eval", str(suite), "-t", "hit_rate=0.5", "--baseline", str(out / "results.json")]
        + [*args, "--json"],
        tmp_path,
    )
    assert again.returncode == 0, again.stderr
    comparison = json.loads(again.stdout)["comparison"]
    assert comparison["shared_cases"] == 3 and comparison["metrics"]["hit_rate"]["delta"] == 0
    assert not [c for c in comparison["worse"] if "source" in c["change"]]


@pytest.mark.slow
def test_shipped_suite_passes_its_retrieval_thresholds_end_to_end(tmp_path):
    """What CI enforces: the packaged model and embedder over the seed corpus, exit 0."""
    out = tmp_path / "report"
    result = run_cli(["eval", str(SHIPPED), "--out", str(out)], tmp_path)
    print(result.stdout)  # the table, in the test log
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads((out / "results.json").read_text())
    summary = data["summary"]
    assert summary["hit_rate"] >= 0.85 and summary["mrr"] >= 0.8
    assert summary["refusal_accuracy"] >= 0.9 and summary["errors"] == 0
    assert summary["evidence_hit"] >= 0.85  # the supporting sentence holds the answer
    assert summary["answer_rate"] is not None  # measured and reported, not enforced
    assert summary["latency"]["generated"] >= 25
    # follow-ups, gated apart: the CI gate of issue 14, with the control beside it
    assert summary["followup_hit_rate"] >= 0.9 and summary["followup_hit_at_2"] >= 0.9
    assert summary["followup_refusal_accuracy"] == 1.0
    assert summary["control"]["hit_rate"] < summary["followup_hit_rate"]
    junit = ET.parse(out / "junit.xml").getroot()
    assert len(junit.find("testsuite").findall("testcase")) == len(data["cases"]) == 65
