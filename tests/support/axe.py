"""axe-core, the accessibility engine, run in the page: the copy of its script that the
PyPI package `axe-playwright-python` ships (nothing is fetched at run time)."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

BLOCKING = ("serious", "critical")


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations of `page` whose impact is serious or critical."""
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [v for v in results.response["violations"] if v["impact"] in BLOCKING]


def report(violations: list[dict[str, Any]]) -> str:
    """One line per violation (rule id, impact, what it asks) and one per failing node
    (its selector and axe's reason, e.g. the contrast ratio measured)."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            target = " >>> ".join(_selector(t) for t in node["target"])
            checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
            reason = checks[0]["message"] if checks else ""
            lines.append(f"    {target}: {reason}")
    return "\n".join(lines)


def _selector(target: Any) -> str:
    return " ".join(target) if isinstance(target, list) else str(target)
