"""The colours of both themes, light and dark, checked without a browser: every pair of
text and background the pages use reaches WCAG AA (4.5:1 for text, 3:1 for a focus ring
against the page). The browser test (test_accessibility.py) checks the rendered pages."""

from __future__ import annotations

import re

import pytest

from api import admin_page, login, viewer
from api.style import PALETTE
from ui.theme import THEME, THEME_CSS

NAMED = {"white": "#ffffff", "black": "#000000"}


def luminance(colour: str) -> float:
    hex_ = NAMED.get(colour, colour).lstrip("#")
    channels = [int(hex_[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_is_computed_as_wcag_defines_it():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # AA's edge grey


def _variables(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block))


PLAIN_LIGHT, PLAIN_DARK = (_variables(part) for part in PALETTE.split("@media"))
TEXT_PAIRS = [
    ("fg", "bg"), ("fg", "surface"), ("muted", "bg"), ("muted", "surface"), ("link", "bg"),
    ("link", "surface"), ("error", "surface"), ("error", "error-bg"), ("fg", "ok-bg"),
    ("fg", "code-bg"), ("fg", "button"), ("primary-fg", "primary"), ("accent", "cited-bg"),
    ("fg", "cited-bg"), ("mark-fg", "mark-bg"), ("link", "cited-bg"),
]  # fmt: skip


@pytest.mark.parametrize("palette", [PLAIN_LIGHT, PLAIN_DARK], ids=["light", "dark"])
def test_plain_pages_text_reaches_aa_in_both_themes(palette: dict[str, str]):
    assert set(palette) == set(PLAIN_LIGHT), "each colour needs a light and a dark value"
    low = {
        f"{fg} on {bg}": round(contrast(palette[fg], palette[bg]), 2)
        for fg, bg in TEXT_PAIRS
        if contrast(palette[fg], palette[bg]) < 4.5
    }
    assert not low, low
    for bg in ("bg", "surface"):
        assert contrast(palette["focus"], palette[bg]) >= 3


def test_plain_pages_follow_the_system_theme_and_have_a_main_landmark():
    view = admin_page.View(users=[], states={}, groups=[], tokens=[], directory_status=[])
    chunk_page = viewer._page("a.md", [], None, -1, -1)
    for page in (login.login_page(""), admin_page.page(view), chunk_page):
        assert '<html lang="en">' in page
        assert "prefers-color-scheme: dark" in page and "color-scheme: light dark" in page
        assert page.count("<main>") == 1 and "</main>" in page


GRADIO_TEXT = [  # (text, background) theme variables the chat page draws text with
    ("body_text_color", "background_fill_primary"),
    ("body_text_color", "block_background_fill"),
    ("body_text_color_subdued", "background_fill_primary"),
    ("body_text_color_subdued", "background_fill_secondary"),
    ("body_text_color_subdued", "block_background_fill"),
    ("link_text_color", "background_fill_primary"),
    ("link_text_color", "block_background_fill"),
    ("error_text_color", "background_fill_primary"),
    ("error_text_color", "block_background_fill"),
    ("button_primary_text_color", "button_primary_background_fill"),
    ("button_primary_text_color", "button_primary_background_fill_hover"),
    ("button_cancel_text_color", "button_cancel_background_fill"),
    ("button_cancel_text_color", "button_cancel_background_fill_hover"),
    ("button_secondary_text_color", "button_secondary_background_fill"),
]


@pytest.mark.parametrize("suffix", ["", "_dark"], ids=["light", "dark"])
def test_gradio_theme_text_reaches_aa_in_both_themes(suffix: str):
    def value(name: str) -> str:
        return THEME._get_computed_value(name + suffix)

    low = {
        f"{fg} on {bg}": round(contrast(value(fg), value(bg)), 2)
        for fg, bg in GRADIO_TEXT
        if contrast(value(fg), value(bg)) < 4.5
    }
    assert not low, low


def test_app_css_variables_come_in_light_and_dark():
    light, dark = (_variables(part) for part in THEME_CSS.split(".dark {", 1))
    dark = {k: v for k, v in dark.items() if k in light}
    assert set(dark) == set(light) and light
    for theme, page in (
        (light, "#ffffff"),
        (dark, THEME._get_computed_value("body_background_fill_dark")),
    ):
        assert contrast(theme["evidence-fg"], theme["evidence-bg"]) >= 4.5
        assert contrast(theme["focus-ring"], page) >= 3
