"""The run as JUnit XML, the format every CI system reads.

Two test suites: one test case per suite case (failing on its gated checks, with the
question, answer and sources in system-out), and one per gated metric, so a threshold or
baseline failure shows up in the CI test view under its own name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from assistant.evaluation.metrics import check_metric
from assistant.evaluation.suite import METRICS

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML 1.0


def _clean(text: object) -> str:
    return _CONTROL.sub("", str(text))


def _case_element(case: dict[str, Any], classname: str, gated: set[str]) -> ET.Element:
    element = ET.Element(
        "testcase", classname=classname, name=_clean(case["id"]), time=f"{case['total_s'] or 0:.3f}"
    )
    failed = [c for c, ok in case["checks"].items() if not ok]
    enforced = [c for c in failed if check_metric(c, case.get("turn", 0)) in gated]
    if case["error"]:
        ET.SubElement(element, "error", message=_clean(case["error"]), type="AssistantError")
    elif enforced:
        detail = {
            "hit": f"expected one of {case['expected_sources']}, retrieved {case['retrieved']}",
            "answer": f"answer did not match: {case['answer']!r}",
            "refusal": f"must refuse, but answered: {case['answer']!r}",
        }
        failure = ET.SubElement(element, "failure", message=", ".join(enforced), type="eval")
        failure.text = _clean("\n".join(detail[c] for c in enforced))
    out = [
        f"question: {case['question']}",
        *(
            [f"follow-up, searched as: {case['standalone_query']}"]
            if case.get("turn", 0) >= 2
            else []
        ),
        f"answer: {case['answer']}",
        f"retrieved: {', '.join(case['retrieved']) or '(none)'}",
        f"expected sources: {', '.join(case['expected_sources']) or '(none)'}",
    ]
    if not_enforced := [c for c in failed if c not in enforced]:
        out.append(f"failed, reported only: {', '.join(not_enforced)}")
    ET.SubElement(element, "system-out").text = _clean("\n".join(out))
    return element


def junit_xml(data: dict[str, Any]) -> str:
    minimum = data["thresholds"]["minimum"]
    gated = {m for m, v in minimum.items() if v is not None}
    name = data["suite"]["name"]
    root = ET.Element("testsuites", name=f"assistant eval {name}", time=f"{data['seconds']:.3f}")

    cases = ET.SubElement(root, "testsuite", name=f"{name}.cases", time=f"{data['seconds']:.3f}")
    properties = ET.SubElement(cases, "properties")
    v = data["versions"]
    for key, value in (("model", v["model"]), ("embedder", v["embedder"]), ("prompt", v["prompt"])):
        ET.SubElement(properties, "property", name=key, value=_clean(value))
    for collection, corpus in v["corpus"].items():
        ET.SubElement(properties, "property", name=f"corpus.{collection}", value=str(corpus))
    for case in data["cases"]:
        kind = f"eval.{name}.conversation" if case.get("turn") else f"eval.{name}"
        cases.append(_case_element(case, kind, gated))
    if control := data["summary"].get("control"):
        for key in ("hit_rate", "hit_at_2", "mrr", "refusal_accuracy"):
            ET.SubElement(properties, "property", name=f"control.{key}", value=str(control[key]))

    gates = ET.SubElement(root, "testsuite", name=f"{name}.thresholds")
    for metric in METRICS:
        if metric not in gated or data["summary"][metric] is None:
            continue
        test = ET.SubElement(
            gates,
            "testcase",
            classname=f"eval.{name}.thresholds",
            name=f"{metric} >= {minimum[metric]}",
        )
        reasons = [r for r in data["verdict"]["failures"] if r.startswith(f"{metric} ")]
        if reasons:
            ET.SubElement(test, "failure", message="; ".join(reasons), type="threshold")
        ET.SubElement(test, "system-out").text = f"{metric} = {data['summary'][metric]}"

    for suite in (cases, gates):
        tests = suite.findall("testcase")
        suite.set("tests", str(len(tests)))
        suite.set("failures", str(sum(1 for t in tests if t.find("failure") is not None)))
        suite.set("errors", str(sum(1 for t in tests if t.find("error") is not None)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
