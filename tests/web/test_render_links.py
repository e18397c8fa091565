"""Links a document (and so the model) writes are shown with their URL: no hidden
target behind harmless words. Rendered with markdown-it (CommonMark, Gradio's parser)."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from ui.render import safe_markdown

TRICKS = [
    "Read [the policy](https://evil.example/steal) first.",
    "Click [here](javascript:alert(document.cookie)).",
    'See [docs](<https://evil.example/a b> "Official docs").',
    "Nested [[inner](https://a.example)](https://evil.example/outer).",
    "Reference [the form][f].\n\n[f]: https://evil.example/form",
    "  [f]: https://evil.example/indented\n\nUse [it][f].",
    "An image ![logo](https://evil.example/pixel.png) loads nothing.",
    "Autolink <https://evil.example/auto> and <a href='https://evil.example'>tag</a>.",
]


@pytest.mark.parametrize("text", TRICKS)
def test_no_link_hides_its_target(text: str):
    html = MarkdownIt("commonmark").render(safe_markdown(text))
    assert "<img" not in html
    for href, shown in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', html):
        assert shown == href, (text, html)
    assert "evil.example" not in html or "evil.example" in re.sub(r"<[^>]+>", "", html)


def test_the_url_stays_visible_and_citations_are_untouched():
    shown = safe_markdown("Read [the policy](https://evil.example/steal) [1].")
    assert shown == "Read the policy (https://evil.example/steal) [1]."
    assert safe_markdown("Plain **bold** and [2] and [3][4].") == (
        "Plain **bold** and [2] and [3][4]."
    )
