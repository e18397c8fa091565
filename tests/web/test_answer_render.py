"""An answer's HTML, as the page receives it: Markdown rendered, nothing from the model
that can run or load, `[n]` linked only to sources that exist, and a footer whose copy
button holds exactly the answer's text. The element and attribute lists are read back
with the standard library's HTML parser, as a browser would build them."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from assistant.answering import Answer, Source
from assistant.claims import Claim
from ui import render
from ui.answer_footer import footer_html, tokens_per_second
from ui.markdown import answer_html

SOURCES = [
    Source(n, f"/s/00{n}.txt", "t", f"line {n}", "snippet", 0.8, f"c-{n}", collection="docs")
    for n in (1, 2)
]
HOSTILE = [
    "<script>alert(1)</script>",
    '<img src="http://203.0.113.9/x.png" onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    "[click](javascript:alert(1))",
    "[click]( javascript:alert(1) )",
    '<a href="javascript:alert(1)">x</a>',
    "![pixel](http://203.0.113.9/p.png)",
    "![pixel][p]\n\n[p]: http://203.0.113.9/p.png",
    "<http://203.0.113.9/auto>",
    '<div style="background:url(http://203.0.113.9/bg.png)">x</div>',
    "<iframe src=//203.0.113.9></iframe>",
    '<svg onload="alert(1)"></svg>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<!-- x --><style>*{background:url(//203.0.113.9)}</style>",
    "| a |\n|---|\n| <img src=//203.0.113.9/t.png> |",
    "- <img src=//203.0.113.9/l.png>\n  ```\n  x\n  ```\n<img src=//203.0.113.9/after.png>",
    "```\n</code></pre><img src=//203.0.113.9/c.png>\n```",
    "`</code><img src=//203.0.113.9/i.png>`",
]
# What the answer's own HTML may hold: Markdown's elements, the citation links, the code
# copy button and the claim marks; no image, frame, style, script or event attribute.
ALLOWED_TAGS = {
    "div", "p", "br", "em", "strong", "s", "code", "pre", "ul", "ol", "li", "blockquote",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
    "a", "button", "span", "mark",
}  # fmt: skip
ALLOWED_ATTRS = {"class", "href", "title", "type", "start", "style", "role", "value"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_model_output_becomes_inert_text(text: str):
    html = answer_html(text, SOURCES)
    tags = parsed(html)
    for tag, attrs in tags.tags:
        assert tag in ALLOWED_TAGS, (tag, html)
        assert set(attrs) <= ALLOWED_ATTRS, (attrs, html)
        assert "style" not in attrs or tag == "td" and "url(" not in str(attrs["style"])
        if tag == "a":
            assert attrs["class"] == "cite" and str(attrs["href"]).startswith("#src-")
    assert "203.0.113.9" not in " ".join(str(v) for _, a in tags.tags for v in a.values())


def test_the_html_is_one_block_the_chatbots_markdown_passes_through():
    """No blank line (even in code with empty lines): Gradio's Markdown pass would end
    the HTML block there and render the rest as Markdown of its own."""
    text = "Intro [1].\n\n```py\na = 1\n\n\nb = '<x>'\n```\n\n| a | b |\n|--|--|\n| 1 | 2 |\n"
    html = answer_html(text, SOURCES)
    assert "\n\n" not in html and not any(not line.strip() for line in html.split("\n"))
    gfm_like = MarkdownIt("commonmark", {"html": True})
    assert gfm_like.render(html).strip() == html


def test_markdown_tables_lists_and_code_render():
    text = "**Sizes**:\n\n- 7B\n- 70B\n\n| Model | Year |\n|---|---|\n| Llama 2 | 2023 |\n\n"
    text += '```python\nif a < b and c & d:\n    print("<b>")\n```'
    tags = parsed(answer_html(text))
    names = [t for t, _ in tags.tags]
    assert {"strong", "ul", "li", "table", "th", "td", "pre", "code", "button"} <= set(names)
    code = answer_html(text).split("<code")[1]
    assert 'class="language-python">if a &lt; b and c &amp; d:&#10;' in code
    assert "&amp;lt;" not in code, "escaped once: the code shows its own < and &"
    assert ("button", {"type": "button", "class": "code-copy", "title": "Copy this code"}) in (
        tags.tags
    )


def test_citations_link_to_their_cards_only_when_the_source_exists():
    html = answer_html("First [1], second [2], none [3], code `x[1]`.", SOURCES)
    links = [a for t, a in parsed(html).tags if t == "a"]
    assert [a["title"] for a in links] == ["Source 1: 001.txt", "Source 2: 002.txt"]
    assert "none [3]" in html and "<code>x[1]</code>" in html
    cards = parsed(render.sources_html(SOURCES, final=True)).tags
    ids = [a["id"] for t, a in cards if t == "li"]
    assert [str(a["href"]).lstrip("#") for a in links] == ids
    other = [Source(1, "/s/other.txt", "t", "", "s", 0.5, "c-x", collection="docs")]
    assert answer_html("[1]", other) != answer_html("[1]", SOURCES), "ids differ per answer"


def test_the_copy_button_holds_the_answer_text_exactly_without_sources():
    text = 'Line "one" & <two> [1]\n\n```\ncode\n```\n\nend'
    answer = Answer("q", text, SOURCES, False, "llama", timings={"total_s": 2.0})
    html = render.chat_message(text, SOURCES, final=answer)
    (button,) = [a for t, a in parsed(html).tags if a.get("class") == "answer-copy"]
    assert button["value"] == text
    footer = html[html.index('<div class="answer-footer">') :]
    assert "src-file" not in footer and "\n" not in footer.split("</div>")[0]


def test_footer_timings_and_speed():
    assert tokens_per_second({"first_token_s": 1.0, "total_s": 3.0, "tokens": 41}) == 20.0
    assert tokens_per_second({"total_s": 0.1}) is None  # refused or quoted: no model call
    assert tokens_per_second({"first_token_s": 1.0, "total_s": 1.0, "tokens": 1}) is None
    timed = {"first_token_s": 0.25, "total_s": 2.5, "tokens": 46}
    meta = parsed(footer_html("a", "llama3:8b", timed)).text[0]
    assert meta == "llama3:8b · first token 0.2 s · total 2.5 s · 20.0 tokens/s"


def test_refusals_and_errors_get_the_footer_too():
    refused = Answer("q", "The documents don't cover this.", [], True, "llama")
    assert 'class="answer-footer"' in render.chat_message(refused.text, [], final=refused)
    failed = render.chat_message("Half an ans", SOURCES, error="the model stopped", model="m")
    assert "⚠ Error: the model stopped" in failed
    (button,) = [a for t, a in parsed(failed).tags if a.get("class") == "answer-copy"]
    assert button["value"] == "Half an ans"
    streaming = render.chat_message("Half", SOURCES)
    assert "answer-footer" not in streaming, "no footer while the answer streams"


def test_a_claim_mark_never_turns_into_html_inside_code():
    text = "Intro.\n\n```\nprint(2027)\n```"
    start = text.index("print")
    claim = Claim("print(2027)", start, start + 11, ["2027 is not in the sources"])
    answer = Answer("q", text, SOURCES, False, "m", unsupported=[claim])
    html = render.chat_message(text, SOURCES, final=answer)
    code = html.split("<pre><code>")[1].split("</code></pre>")[0]
    assert code == "print(2027)"
