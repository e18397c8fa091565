"""Every page, in a real headless Chromium against the real server (login on), checked by
axe-core under the system's light and dark setting: no serious or critical violation
(contrast, labels, landmarks, heading order, ...). And screenshots of every page at a
laptop's and a phone's width, in both themes, kept for a reviewer to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.axe import blocking_violations, controls_without_focus_ring, report
from support.browser import browser_page
from support.pages import PAGES, tour
from support.paths import ROOT
from support.server import build_world, serving

from assistant.factory import Components

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:::gradio.queueing")]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SIZES = ((1280, 900), (390, 844))
# The page's background, as rendered: the first opaque one from <body> up.
BACKGROUND_JS = """() => { for (const el of [document.body, document.documentElement]) {
    const c = getComputedStyle(el).backgroundColor.match(/[\\d.]+/g).map(Number);
    if (c.length < 4 || c[3] > 0) return c.slice(0, 3); }
  return [255, 255, 255]; }"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Components]]:
    parts, directory, _ = build_world(tmp_path_factory.mktemp("world") / "data")
    with serving(parts, directory) as (url, _):
        yield url, parts


def _is_dark(rgb: list[float]) -> bool:
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_has_no_serious_accessibility_violation(world, scheme):
    url, parts = world
    found, unringed = {}, {}
    with browser_page(url + "/login", width=1280, height=900, color_scheme=scheme) as (page, _):
        for name in tour(page, url, parts):
            background = page.evaluate(BACKGROUND_JS)
            assert _is_dark(background) == (scheme == "dark"), (
                f"the {name} page's background {background} ignores the system's {scheme} theme"
            )
            found[name] = blocking_violations(page)
            reached, missing = controls_without_focus_ring(page)
            assert reached or name == "viewer", f"the keyboard reaches no control on {name}"
            if missing:
                unringed[name] = missing
    assert list(found) == list(PAGES)
    failing = {name: v for name, v in found.items() if v}
    assert not failing, "\n".join(f"{n} page ({scheme}):\n{report(v)}" for n, v in failing.items())
    assert not unringed, f"focused without a visible indicator ({scheme}): {unringed}"


def test_screenshots_of_every_page_at_both_widths_in_both_themes(world):
    url, parts = world
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    for width, height in SIZES:
        for scheme in ("light", "dark"):
            with browser_page(url + "/login", width=width, height=height, color_scheme=scheme) as (
                page,
                _,
            ):
                for name in tour(page, url, parts):
                    suffix = "-dark" if scheme == "dark" else ""
                    path = SCREENSHOTS / f"{name}-{width}{suffix}.png"
                    page.screenshot(path=str(path), full_page=True)
                    saved.append(path)
    print(f"\n{len(saved)} screenshots in {SCREENSHOTS}")
    assert len(saved) == len(PAGES) * len(SIZES) * 2
    for path in saved:  # a real image of the page, not an empty one
        assert path.stat().st_size > 5_000, path
