"""Append a case to a suite file as text, so the file's comments and layout survive.

Re-dumping parsed YAML would drop every comment (the shipped suite quotes the seed sentence
behind each expected answer in comments), so the new case is rendered alone and inserted
after the last one; the result is validated before the file is replaced.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from assistant.evaluation.suite import Suite, SuiteError, parse_suite

NEW_SUITE = "# Regression suite for `assistant eval` (see docs/eval.md).\ncases:\n"


def _last_line(node: yaml.Node) -> int:
    """0-based line where a node's content ends (its scalars' ends; comments excluded)."""
    if isinstance(node, yaml.ScalarNode):
        end = node.end_mark
        return end.line if end.column > 0 else end.line - 1
    children = (
        node.value
        if isinstance(node, yaml.SequenceNode)
        else [n for pair in node.value for n in pair]
    )
    return max((_last_line(c) for c in children), default=node.start_mark.line)


def _insertion(text: str, path: Path) -> tuple[int, int]:
    """(line index to insert before, indentation of the `-` of a case)."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise SuiteError(f"{path}: fix the YAML first ({exc.problem})") from exc
    finally:
        loader.dispose()
    cases = root
    if isinstance(root, yaml.MappingNode):
        found = [v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "cases"]
        if not found:
            raise SuiteError(f"{path}: the suite has no 'cases:' list to add to")
        cases = found[0]
        if isinstance(cases, yaml.ScalarNode) and cases.value in ("", "~", "null"):
            return cases.start_mark.line + 1, 2  # `cases:` with nothing under it yet
    if not isinstance(cases, yaml.SequenceNode) or cases.flow_style or not cases.value:
        raise SuiteError(f"{path}: 'cases' must be a block list ('- question: ...') to add to")
    first = cases.value[0].start_mark
    dash = text.splitlines()[first.line].rfind("-", 0, first.column)
    return _last_line(cases.value[-1]) + 1, max(dash, 0)


def render_case(case: dict[str, Any], comments: list[str], indent: int) -> list[str]:
    body = yaml.safe_dump(
        [case], sort_keys=False, allow_unicode=True, default_flow_style=None, width=10_000
    )
    pad = " " * indent
    return [f"{pad}# {c}" for c in comments] + [pad + line for line in body.splitlines()]


def append_case(path: Path, case: dict[str, Any], comments: list[str]) -> tuple[Suite, int]:
    """Add the case at the end of the suite's cases; returns the new suite and its line."""
    text = path.read_text(encoding="utf-8") if path.exists() else NEW_SUITE
    if not text.endswith("\n"):
        text += "\n"
    at, indent = _insertion(text, path)
    lines = text.splitlines()
    new = render_case(case, comments, indent)
    updated = "\n".join([*lines[:at], *new, *lines[at:]]) + "\n"
    suite = parse_suite(updated, path)  # refuse to write a file the runner would reject
    added = next((c for c in suite.cases if c.line == at + len(comments) + 1), None)
    if added is None or added.question != case["question"]:
        raise SuiteError(f"{path}: could not place the new case; add it by hand")
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(updated, encoding="utf-8")
    os.replace(tmp, path)
    return suite, added.line
