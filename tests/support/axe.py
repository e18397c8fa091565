"""axe-core, the accessibility engine, run in the page: the copy of its script that the
PyPI package `axe-playwright-python` ships (nothing is fetched at run time)."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

BLOCKING = ("serious", "critical")
# Moderate in axe's scale, but the structure a screen reader navigates by (issue 17 found
# the chat page's headings skipping a level and the login page without a main landmark).
STRUCTURE = ("heading-order", "landmark-one-main", "page-has-heading-one", "region")


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations of `page` that fail CI: every serious or critical one, and the
    page-structure rules of STRUCTURE."""
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [
        v for v in results.response["violations"] if v["impact"] in BLOCKING or v["id"] in STRUCTURE
    ]


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


# The focused element's own indicator: an outline, or Gradio's box-shadow ring on inputs.
FOCUS_JS = """() => { const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
    || s.boxShadow !== 'none';
  const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + ' "' + (e.getAttribute('aria-label') || e.innerText || e.value || '').slice(0, 30) + '"';
  return [name, ring]; }"""


def controls_without_focus_ring(page: Page, presses: int = 60) -> tuple[int, list[str]]:
    """Tab through `page` from its top: how many controls took the focus, and those that
    showed no focus indicator (WCAG 2.4.7)."""
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    seen: dict[str, bool] = {}
    for _ in range(presses):
        page.keyboard.press("Tab")
        found = page.evaluate(FOCUS_JS)
        if found is None or found[0] in seen:
            continue
        seen[found[0]] = found[1]
    return len(seen), [name for name, ring in seen.items() if not ring]
