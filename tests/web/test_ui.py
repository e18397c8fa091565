"""The web UI end to end: the real assistant behind a real server, driven by gradio_client
and by a real headless Chromium, as a person and a script would use it.

Expectations come from the assistant's own retrieval (the sources `Assistant.ask` picks
before generating), never from the model's wording, which a model change would break.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from support.browser import browser_page
from support.paths import SEEDS
from support.server import serving

from assistant.answering import NOT_COVERED
from assistant.factory import Components

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:::gradio.queueing"),  # pandas deprecations inside Gradio
]

QUESTION = "When was Llama 2 released, and under what licence?"
OFF_TOPIC = "What is the boiling point of tungsten in kelvin?"
SEED_FILES = sorted(p.name for p in SEEDS.iterdir() if p.is_file())
ANSWER_TIMEOUT_MS = 120_000


# The answer bubble's text without sources, footer or placeholder: what the model wrote.
ANSWER_JS = """el => { const c = el.cloneNode(true);
  c.querySelectorAll('.sources, .answer-footer, .answer-meta, .answer-pending')
    .forEach(n => n.remove());
  return c.innerText.trim(); }"""
# Records each distinct partial answer the page renders before the finished one, to see
# it stream (a MutationObserver sees every rendered state; polling could miss them).
WATCH_STREAMING_JS = """() => { window.partialAnswers = new Set();
  new MutationObserver(() => {
    const bot = [...document.querySelectorAll("[data-testid='bot']")].pop();
    if (!bot || bot.querySelector('.answer-meta, .answer-error')) return;
    const text = (ANSWER_JS)(bot);
    if (text) window.partialAnswers.add(text);
  }).observe(document.body, {childList: true, subtree: true, characterData: true}); }
""".replace("ANSWER_JS", ANSWER_JS)


@pytest.fixture(scope="module")
def server(seeded: Components) -> Iterator[str]:
    """The app as `assistant serve` runs it (login off), on a free loopback port."""
    with serving(seeded) as (url, _):
        yield url + "/"


@pytest.fixture(scope="module")
def expected_files(seeded: Components) -> list[str]:
    """The files the assistant itself will cite for QUESTION (retrieval only, no model)."""
    sources = seeded.assistant.ask(QUESTION).sources
    assert sources, "the seeds should cover the Llama 2 question"
    return [Path(s.source).name for s in sources]


def test_api_streams_an_answer_with_the_assistants_sources(server, expected_files):
    from gradio_client import Client

    job = Client(server, verbose=False).submit(QUESTION, api_name="/ask")
    replies = list(job)  # every streamed step
    final = job.result()
    assert final["done"] and final["error"] is None and not final["refused"]
    assert final["answer"].strip()
    assert len(replies) > 2, "the answer should stream in pieces"
    assert [s["file"] for s in final["sources"]] == expected_files
    assert set(expected_files) <= set(SEED_FILES)
    for s in final["sources"]:
        assert s["anchor"] and s["snippet"]
        assert s["cited"] == (f"[{s['number']}]" in final["answer"])


def test_api_off_topic_question_says_the_documents_do_not_cover_it(server):
    from gradio_client import Client

    reply = Client(server, verbose=False).predict(OFF_TOPIC, api_name="/ask")
    assert reply["refused"] and reply["done"]
    assert reply["answer"] == NOT_COVERED
    assert reply["sources"] == []


def test_browser_chat_shows_streamed_answer_sources_and_documents(server, expected_files):

    with browser_page(server) as (page, requests):
        page.wait_for_selector("#documents table.docs")
        listed = page.locator("#documents .doc-file").all_inner_texts()
        assert sorted(listed) == SEED_FILES
        assert page.get_by_role("heading", name="On-prem Assistant").is_visible()
        assert "nothing you ask leaves this machine" in page.inner_text("body")

        page.evaluate(WATCH_STREAMING_JS)
        box = page.locator("#question textarea")
        box.fill(QUESTION)
        box.press("Enter")
        bot = page.locator("[data-testid='bot']").last
        bot.locator(".answer-meta, .answer-error").wait_for(timeout=ANSWER_TIMEOUT_MS)
        page.screenshot(path="/tmp/ui.png", full_page=True)

        assert bot.locator(".answer-error").count() == 0
        answer = bot.evaluate(ANSWER_JS)
        assert answer
        partials = page.evaluate("[...window.partialAnswers]")
        assert len(partials) >= 2, f"the answer should appear piece by piece: {partials}"
        shown = bot.locator(".sources .src-file").all_inner_texts()
        assert shown == expected_files
        assert page.get_by_text(QUESTION).first.is_visible()

    assert requests
    for url in requests:
        parts = urlparse(url)
        assert parts.scheme in ("data", "blob") or parts.hostname in ("127.0.0.1", "localhost"), (
            f"the page fetched {url}: everything must come from this machine"
        )


def test_browser_off_topic_question_shows_the_refusal_without_sources(server):

    with browser_page(server) as (page, _):
        page.locator("#question textarea").fill(OFF_TOPIC)
        page.locator("#send").click()
        bot = page.locator("[data-testid='bot']").last
        bot.locator(".answer-meta").wait_for(timeout=ANSWER_TIMEOUT_MS)
        assert "documents don't cover" in bot.inner_text()
        assert bot.locator(".sources").count() == 0


# Records any queue-position text the page shows ("queue: 2/3" or "In queue: 2 of 3").
WATCH_QUEUE_JS = """() => { window.queueTexts = [];
  new MutationObserver(() => {
    const m = document.body.innerText.match(/queue: \\d+\\/\\d+|In queue: \\d+ of \\d+/);
    if (m) window.queueTexts.push(m[0]);
  }).observe(document.body, {childList: true, subtree: true, characterData: true}); }"""


def test_browser_shows_the_askers_place_in_the_queue(server):
    """Others are being answered (API clients here): a person who asks now sees where
    they stand in the line until their answer starts."""
    from gradio_client import Client

    client = Client(server, verbose=False)
    busy = [client.submit(QUESTION, api_name="/ask") for _ in range(3)]
    with browser_page(server) as (page, _):
        page.wait_for_selector("#documents table.docs")
        page.evaluate(WATCH_QUEUE_JS)
        page.locator("#question textarea").fill(QUESTION)
        page.locator("#send").click()
        page.wait_for_function("window.queueTexts.length > 0", timeout=ANSWER_TIMEOUT_MS)
        page.locator("[data-testid='bot'] .answer-meta").wait_for(timeout=4 * ANSWER_TIMEOUT_MS)
        seen = page.evaluate("window.queueTexts")
    for job in busy:
        job.result()
    assert seen, "the page never showed the place in the queue"


@pytest.fixture(scope="module")
def quoted_server(seeded: Components, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same store served with `answer_style = quoted`: answers come at once, without
    the model, which the citation link does not depend on."""
    from support.paths import make_settings
    from support.server import serving

    parts = Components(make_settings(tmp_path_factory.mktemp("quoted"), answer_style="quoted"))
    parts.store = seeded.store
    with serving(parts) as (url, _):
        yield url + "/"


def test_browser_citation_opens_the_source_at_the_highlighted_sentence(quoted_server):
    """Click a source's [n] under an answer: the document opens, served by this server,
    scrolled to the supporting sentence, which is highlighted; nothing loads from
    elsewhere, on the chat page or in the viewer."""
    with browser_page(quoted_server) as (page, requests):
        page.locator("#question textarea").fill("When was Llama 2 released?")
        page.locator("#send").click()
        bot = page.locator("[data-testid='bot']").last
        bot.locator(".answer-meta").wait_for(timeout=ANSWER_TIMEOUT_MS)
        first = bot.locator(".src").first
        marked = first.locator("mark.evidence").inner_text()
        assert marked, "the supporting sentence is highlighted in the snippet"
        with page.context.expect_page() as opened:
            first.locator("a.src-open").click()
        viewer = opened.value
        viewer.wait_for_load_state()
        assert urlparse(viewer.url).path == "/view"
        mark = viewer.locator("mark#evidence")
        assert " ".join(mark.inner_text().split()) == " ".join(marked.split())
        assert mark.evaluate(
            "m => { const r = m.getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }"
        ), "the viewer is scrolled to the sentence"
        viewer.screenshot(path="/tmp/viewer.png")
    for url in requests:
        parts = urlparse(url)
        assert parts.scheme in ("data", "blob") or parts.hostname in ("127.0.0.1", "localhost"), (
            f"the page fetched {url}: everything must come from this machine"
        )
