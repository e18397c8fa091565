"""Hypothesis over the eval suite parser: whatever the text of a suite file, parsing
either gives a suite or one `FILE:LINE: reason` (or `FILE: reason`) line, never another
exception or a traceback."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.fuzz import examples
from support.paths import ROOT

from assistant.evaluation.suite import SuiteError, parse_suite

PATH = Path("suite.yaml")
SHIPPED = (ROOT / "tests" / "eval" / "seed_suite.yaml").read_text()

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30)
)
keys = st.sampled_from(
    ["cases", "thresholds", "name", "question", "expect", "regex", "sources", "tags",
     "must_refuse", "collection", "id", "hit_rate", "mrr", "max_drop", "answer_rate"]
)  # fmt: skip
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(keys | st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)  # fmt: skip


def _check(text: str) -> None:
    try:
        parse_suite(text, PATH)
    except SuiteError as exc:
        message = str(exc)
        assert message.startswith(f"{PATH}:") and "\n" not in message, message


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
@example("\x1f")  # a character YAML refuses outright
@example("[" * 5000 + "]" * 5000)  # deeper than Python's recursion limit
@example("cases:\n  - question: x\n    regex: 'a{99999999999}'")  # re: OverflowError
def test_any_text_is_a_suite_or_one_line(text: str):
    _check(text)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
@example({"\n": None})  # a key with a newline must not break the message's one line
def test_any_yaml_shape_is_a_suite_or_one_line(tree: object):
    _check(yaml.safe_dump(tree, allow_unicode=True))
    _check(yaml.safe_dump({"cases": tree}, allow_unicode=True))
    _check(yaml.safe_dump({"cases": [tree], "thresholds": tree}, allow_unicode=True))


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SHIPPED) - 1), st.integers(1, 40), st.text(max_size=20))
def test_the_shipped_suite_with_a_cut_and_an_insert_is_a_suite_or_one_line(at, cut, insert):
    _check(SHIPPED[:at] + insert + SHIPPED[at + cut :])
