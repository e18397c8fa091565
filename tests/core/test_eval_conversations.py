"""Multi-turn cases in eval suites: parsed with the line of every mistake, run turn after
turn with the answers as history, scored per turn (apart from single questions), with a
control row of the follow-ups asked alone, in every report and in the baseline diff."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console
from support.cli import run_cli

from assistant.evaluation.gates import compare, failures
from assistant.evaluation.junit import junit_xml
from assistant.evaluation.markdown import markdown_report
from assistant.evaluation.results import load_result, run_to_dict, write_json
from assistant.evaluation.runner import run_suite
from assistant.evaluation.suite import SuiteError, load_suite
from assistant.evaluation.terminal import render


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


CONVERSATIONS = """\
name: talk
thresholds:
  hit_rate: 1.0
  followup_hit_rate: 1.0
  followup_refusal_accuracy: 1.0
  answer_rate: null
  followup_answer_rate: null
cases:
  - question: What is the Quest operating system now called?
    sources: [000_ff4f05a3c6834f76.txt]
  - id: llama3
    tags: [talk]
    turns:
      - When did LLaMA 3 come out?
      - question: How many tokens was it trained on?
        expect: [15 trillion]
        sources: [001_5fec047b8f95376e.txt, 004_9034c93824e74505.txt]
      - question: Which sizes did it come in?
        sources: [001_5fec047b8f95376e.txt, 004_9034c93824e74505.txt]
  - id: away
    turns:
      - When was LLaMA 2 released?
      - question: What is the capital of Australia?
        must_refuse: true
"""


def test_a_conversation_becomes_one_case_per_scored_turn(tmp_path) -> None:
    suite = load_suite(write(tmp_path, CONVERSATIONS))
    single, tokens, sizes, away = suite.cases
    assert single.turn == 0 and single.conversation is None and not single.is_followup
    assert tokens.id == "llama3#2" and tokens.conversation == "llama3" and tokens.turn == 2
    assert tokens.before == ("When did LLaMA 3 come out?",) and tokens.tags == ("talk",)
    assert tokens.line == 15 and tokens.is_followup
    assert sizes.id == "llama3#3" and sizes.before == (*tokens.before, tokens.question)
    assert away.id == "away#2" and away.must_refuse
    assert suite.thresholds.minimum["followup_hit_rate"] == 1.0


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("cases:\n  - turns: [Only one]\n", 2, "turns must be a list of at least two"),
        ("cases:\n  - turns: [One, Two]\n", 2, "case 1 scores no turn"),
        (
            "cases:\n  - turns:\n      - A?\n      - question: B?\n        id: b\n"
            "        must_refuse: true\n",
            4,
            "give id and collection on the conversation",
        ),
        (
            "cases:\n  - turns:\n      - A?\n      - question: B?\n",
            4,
            "case 1, turn 2 checks nothing",
        ),
        ("cases:\n  - turns: [A, B]\n    colour: red\n", 3, "unknown key 'colour' in case 1"),
    ],
)
def test_a_malformed_conversation_is_reported_at_its_line(tmp_path, text, line, reason) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert str(err.value).startswith(f"{path}:{line}: ") and reason in str(err.value), err.value


@pytest.mark.slow
def test_follow_ups_are_scored_per_turn_with_a_control_in_every_report(seeded, tmp_path) -> None:
    suite = load_suite(write(tmp_path, CONVERSATIONS))
    run = run_suite(seeded, suite, generate=False)
    by_id = {r.id: r for r in run.results}
    tokens, sizes, away = by_id["llama3#2"], by_id["llama3#3"], by_id["away#2"]
    assert tokens.rank and sizes.rank and away.refused and away.checks == {"refusal": True}
    assert sizes.standalone_query.endswith("Which sizes did it come in?")
    assert sizes.standalone_query != sizes.question, "searched with the conversation"
    summary = run.summary
    assert summary["hit_rate"] == 1.0 and summary["measured_by"]["hit_rate"] == 1
    assert summary["followup_hit_rate"] == 1.0 and summary["measured_by"]["followup_hit_rate"] == 2
    assert summary["followup_refusal_accuracy"] == 1.0 and summary["refusal_accuracy"] is None
    control = {r.id: r for r in run.control}
    assert set(control) == {"llama3#2", "llama3#3", "away#2"}
    assert not control["llama3#3"].rank, "alone, 'it' means nothing: the control misses"
    assert summary["control"]["hit_rate"] == 0.5 and summary["control"]["cases"] == 3

    data = run_to_dict(run, suite.thresholds, failures(summary, suite.thresholds, None), None)
    assert [c["turn"] for c in data["cases"]] == [0, 2, 3, 2] and len(data["control"]) == 3
    console = Console(record=True, width=200)
    render(data, console)
    text = console.export_text()
    assert "↳ Which sizes did it come in?" in text and "llama3#3" in text
    assert "followup_hit_rate" in text and "control, the same 3 follow-ups asked alone" in text
    report = markdown_report(data)
    assert "| 3 | ↳ Which sizes did it come in? | llama3#3 | rank " in report
    assert "| followup_hit_rate | 1.000 | ≥ 1.00 | 2 |" in report
    assert "Control, the same 3 follow-ups asked alone" in report
    junit = ET.fromstring(junit_xml(data))
    cases = junit.find("testsuite")
    turns = [t for t in cases.findall("testcase") if t.get("classname").endswith(".conversation")]
    assert [t.get("name") for t in turns] == ["llama3#2", "llama3#3", "away#2"]
    props = {p.get("name"): p.get("value") for p in cases.find("properties")}
    assert props["control.hit_rate"] == "0.5"
    gates = [t.get("name") for t in junit.findall("testsuite")[1].findall("testcase")]
    assert "followup_hit_rate >= 1.0" in gates and "followup_refusal_accuracy >= 1.0" in gates

    # the baseline diff compares follow-ups per turn: the conversation thrown away
    path = tmp_path / "with-history.json"
    write_json(data, path)
    seeded.assistant.followup = "off"
    try:
        alone = run_suite(seeded, suite, generate=False)
    finally:
        seeded.assistant.followup = "fusion"
    comparison = compare(alone.results, alone.versions, load_result(path), str(path))
    worse = {(w["id"], w["change"]) for w in comparison["worse"]}
    assert ("llama3#3", "no expected source retrieved any more") in worse
    assert comparison["metrics"]["followup_hit_rate"]["delta"] == -0.5
    assert comparison["metrics"]["hit_rate"]["delta"] == 0
    reasons = failures(alone.summary, suite.thresholds, comparison)
    assert any(x.startswith("followup_hit_rate dropped from 1.000 to 0.500") for x in reasons)


@pytest.mark.slow
def test_the_eval_command_gates_follow_ups(tmp_path) -> None:
    suite = write(tmp_path, CONVERSATIONS)
    result = run_cli(
        ["eval", str(suite), "--retrieval-only", "-t", "followup_hit_rate=1.0", "--json"],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["followup_hit_rate"] == 1.0
    assert data["summary"]["control"]["hit_rate"] == 0.5
    tagged = run_cli(["eval", str(suite), "--retrieval-only", "--tag", "talk"], tmp_path)
    assert tagged.returncode == 0, tagged.stdout  # turn 1, unscored, is still asked first
    strict = run_cli(
        ["eval", str(suite), "--retrieval-only", "-t", "followup_refusal_accuracy=1.0"]
        + ["-t", "followup_hit_rate=1.0", "--tag", "nothing-has-it"],
        tmp_path,
    )
    assert strict.returncode == 1 and "no case has any of the tags" in strict.stderr
