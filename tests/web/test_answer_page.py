"""One answer on the page, in a real headless Chromium: Markdown rendered (a table, a code
block with its copy button), `[n]` links that open source n's card and from there the
viewer, the footer (model, timings, copy, thumbs), and hostile model output that runs
nothing and fetches nothing.

The model is the fake Ollama (the one part that cannot run here), streaming a scripted
answer line by line over the seed corpus held in the real store.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page
from support.browser import browser_page
from support.ollama import CHAT_MODEL, FakeOllama, running_fake_ollama
from support.paths import make_settings
from support.server import serving

from assistant.factory import Components

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:::gradio.queueing"),  # pandas deprecations inside Gradio
]

QUESTION = "When was Llama 2 released, and under what licence?"
OFF_TOPIC = "What is the boiling point of tungsten in kelvin?"
FAR = "203.0.113.9"  # TEST-NET-3: any request to it is the page fetching from elsewhere
CODE = 'if a < b && c:\n    print("<b>ok</b>")'
ANSWER = f"""Llama 2 came out in July 2023 [1], with a licence for commercial use [2] [9].

| Model | Released |
|---|---|
| Llama 2 | July 2023 |

- first point
- second point

```python
{CODE}
```

<script>window.pwned = "script"</script>
<img src="http://{FAR}/pixel.png" onerror="window.pwned = 'onerror'">
[the policy](javascript:window.pwned='link') and <a href="javascript:window.pwned='a'">raw</a>
![remote](http://{FAR}/remote.png) <iframe src="http://{FAR}/frame"></iframe>
<div style="background: url(http://{FAR}/bg.png)">styled</div> <svg onload="window.pwned='svg'"/>
"""
TIMEOUT_MS = 120_000
# The page as served over plain http: the Clipboard API is missing; what the copy command
# copies is recorded (the event's target is the text area holding the text).
NO_CLIPBOARD_API_JS = """() => {
  Object.defineProperty(Navigator.prototype, "clipboard", {get: () => undefined});
  document.addEventListener("copy", e => { window.copiedByCommand = e.target.value; });
}"""


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOllama]:
    with running_fake_ollama() as fake:
        fake.pieces = [line + "\n" for line in ANSWER.split("\n")]  # streamed line by line
        yield fake


@pytest.fixture(scope="module")
def server(
    seeded: Components, fake_model: FakeOllama, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("answers"),
        backend="ollama",
        ollama_host=fake_model.url,
        ollama_model=CHAT_MODEL,
        ollama_timeout=10.0,
        context_window=4096,
    )
    parts = Components(settings)
    parts.store = seeded.store
    with serving(parts) as (url, _):
        yield url + "/"


def ask(page: Page, question: str) -> Locator:
    """Ask in the chat; the finished answer's bubble (its footer is the 'done' marker)."""
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    bot = page.locator("[data-testid='bot']").last
    bot.locator(".answer-footer").wait_for(timeout=TIMEOUT_MS)
    return bot


def clipboard(page: Page) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


def test_markdown_renders_and_both_copy_buttons_copy(server):
    with browser_page(server) as (page, _):
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        bot = ask(page, QUESTION)
        table = bot.locator(".answer-text table")
        assert table.locator("th").all_inner_texts() == ["Model", "Released"]
        assert table.locator("td").all_inner_texts() == ["Llama 2", "July 2023"]
        assert bot.locator(".answer-text ul > li").all_inner_texts() == [
            "first point",
            "second point",
        ]
        code = bot.locator(".code-block code")
        assert code.text_content() == CODE, "code keeps its < and & as written"

        bot.locator(".code-block button.code-copy").click()
        assert clipboard(page) == CODE
        assert bot.locator(".code-copy").inner_text() == "Copied"

        bot.locator(".answer-footer button.answer-copy").click()
        copied = clipboard(page)
        assert copied == ANSWER.strip(), "the answer as written, without its sources"
        page.screenshot(path="/tmp/answer-page.png", full_page=True)

        # Plain http on the internal network: no Clipboard API, the older copy command.
        page.evaluate(NO_CLIPBOARD_API_JS)
        page.wait_for_timeout(1600)  # the button's "Copied" goes back to "Copy"
        bot.locator(".answer-footer button.answer-copy").click()
        assert page.evaluate("window.copiedByCommand") == ANSWER.strip()
        assert bot.locator(".answer-copy").inner_text() == "Copied"


def test_a_citation_opens_its_source_card_and_from_there_the_viewer(server):
    with browser_page(server) as (page, requests):
        bot = ask(page, QUESTION)
        sources = bot.locator("details.sources")
        sources.locator("summary").click()  # folded by the reader
        assert sources.get_attribute("open") is None
        cites = bot.locator(".answer-text a.cite")
        assert cites.all_inner_texts() == ["[1]", "[2]"], "[9] has no source: plain text"
        assert "[9]" in bot.locator(".answer-text").inner_text()

        cites.nth(1).click()
        card = bot.locator(".src").nth(1)
        assert sources.get_attribute("open") is not None, "the sources unfold"
        assert "src-focus" in (card.get_attribute("class") or "")
        assert card.get_attribute("id") == cites.nth(1).get_attribute("href").lstrip("#")
        assert card.evaluate(
            "c => { const r = c.getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }"
        ), "the card is scrolled into view"
        assert page.evaluate("document.activeElement.className") == "src-open"

        cites.first.focus()  # the keyboard way: Enter on [1]
        page.keyboard.press("Enter")
        assert "src-focus" in (bot.locator(".src").first.get_attribute("class") or "")

        with page.context.expect_page() as opened:
            card.locator("a.src-open").click()
        viewer = opened.value
        viewer.wait_for_load_state()
        assert urlparse(viewer.url).path == "/view"
        assert viewer.locator("mark#evidence").count() == 1
    assert all(urlparse(u).hostname in ("127.0.0.1", "localhost") for u in requests if "//" in u)


def test_the_footer_shows_model_timings_copy_and_the_thumbs(server):
    with browser_page(server) as (page, _):
        bot = ask(page, QUESTION)
        meta = bot.locator(".answer-footer .answer-meta").inner_text()
        assert meta.split(" · ")[0].endswith(CHAT_MODEL)
        assert "first token" in meta and "total" in meta and "tokens/s" in meta
        assert bot.locator(".answer-footer button.answer-copy").is_visible()
        size = "e => parseFloat(getComputedStyle(e).fontSize)"
        shown, body = (
            bot.locator(x).first.evaluate(size) for x in (".answer-meta", ".answer-text")
        )
        assert shown >= 0.8 * body, "the footer is small print, not unreadable"
        thumbs = page.locator(".message-buttons").last  # the Chatbot's own like buttons
        assert thumbs.locator("button[aria-label='Like']").is_visible()
        assert thumbs.locator("button[aria-label='Dislike']").is_visible()
        footer, under = (x.bounding_box() for x in (bot.locator(".answer-footer"), thumbs))
        assert footer and under
        assert 0 <= under["y"] - (footer["y"] + footer["height"]) < 40, "just under the footer"

        page.goto(server)  # a new conversation
        refusal = ask(page, OFF_TOPIC)
        assert "documents don't cover" in refusal.inner_text()
        assert refusal.locator(".answer-footer button.answer-copy").is_visible()
        assert refusal.locator(".answer-meta").inner_text().split(" · ")[0].endswith(CHAT_MODEL)


def test_hostile_model_output_runs_nothing_and_fetches_nothing(server):
    with browser_page(server) as (page, requests):
        bot = ask(page, QUESTION)
        text = bot.locator(".answer-text")
        for tag in ("script", "img", "iframe", "svg", "div[style]"):
            assert text.locator(tag).count() == 0, tag
        assert text.locator("a:not(.cite)").count() == 0, "no link but the citations"
        shown = text.inner_text()
        assert '<script>window.pwned = "script"</script>' in shown, "shown as the text it is"
        assert "[the policy](javascript:window.pwned='link')" in shown
        assert f"![remote](http://{FAR}/remote.png)" in shown
        for piece in text.get_by_text("javascript:").all():
            piece.click()
        page.wait_for_timeout(500)
        assert page.evaluate("window.pwned") is None
    far = [u for u in requests if urlparse(u).hostname not in ("127.0.0.1", "localhost")]
    assert not [u for u in far if not u.startswith(("data:", "blob:"))], far
