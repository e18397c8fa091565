"""The chat page's flows in a real headless Chromium against the real server and model
(login off: the conversations are the local user's, as on the command line): Stop frees
the model for the next person in line and keeps the partial answer, Retry, Edit-and-resend,
the sidebar's search/rename/delete, keyboard-only use, and the page at phone width.

What happened on the server is checked on the server: the stored conversations, and the
model's counter of generated chunks (it only grows while llama.cpp computes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from support.browser import browser_page, browser_pages, pick_history
from support.paths import make_settings
from support.server import serving

from assistant.answering import Answer
from assistant.auth import LOCAL, Database
from assistant.factory import Components
from assistant.history import History

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:::gradio.queueing")]
TIMEOUT_MS = 180_000
QUESTION = "When was Llama 2 released?"
LONG = "Describe in detail every LLaMA release, year by year, with its licence and its sizes."
BOTS = "[data-testid='bot']"
# The answer bubble's own text: without sources, footer and the stopped mark.
ANSWER_JS = """el => { const c = el.cloneNode(true);
  c.querySelectorAll('.sources, .answer-meta, .answer-pending, .answer-stopped')
    .forEach(n => n.remove());
  return c.innerText.trim(); }"""


@pytest.fixture(scope="module")
def served(seeded: Components, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The seeded store served without login, with short answers; the page's
    conversations in the local user's history."""
    with _serving(seeded, tmp_path_factory.mktemp("chatpage"), max_answer_tokens=24) as found:
        yield found


@pytest.fixture(scope="module")
def long_served(seeded: Components, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The same with long answers on one thread: still being written when Stop comes."""
    data = tmp_path_factory.mktemp("chatpage-long")
    with _serving(seeded, data, max_answer_tokens=160, threads=1) as found:
        yield found


@contextmanager
def _serving(seeded: Components, data: Path, **settings: Any) -> Iterator[Any]:
    parts = Components(make_settings(data, **settings))
    parts.store = seeded.store
    with serving(parts) as (url, _):
        yield url + "/", parts, History(Database(parts.settings.database))


def _ask(page: Page, question: str) -> None:
    page.wait_for_selector("#documents table.docs", timeout=TIMEOUT_MS)
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def _finished(page: Page) -> Any:
    """The last answer bubble, once it is finished (Send is back)."""
    bot = page.locator(BOTS).last
    bot.locator(".answer-meta, .answer-error, .answer-stopped").first.wait_for(timeout=TIMEOUT_MS)
    page.locator("#send").wait_for(timeout=TIMEOUT_MS)
    return bot


def _stored(history: History, question: str) -> dict[str, Any]:
    """The local user's newest conversation whose text holds `question`."""
    found = history.list(LOCAL, question)
    assert found, f"no stored conversation with {question!r}"
    conversation = history.get(LOCAL, found[0].id)
    assert conversation is not None
    return conversation


def _writing(page: Page) -> None:
    """Wait until the last answer bubble holds some of the model's text."""
    page.wait_for_function(
        f'() => {{ const b = [...document.querySelectorAll("{BOTS}")].pop();'
        f" return b && ({ANSWER_JS})(b).length > 0; }}",
        timeout=TIMEOUT_MS,
    )


def test_stop_frees_the_model_for_the_next_in_line_and_keeps_the_partial_answer(long_served):
    """The first person presses Esc mid-answer: the second, waiting in line, is answered
    at once; the first keeps the partial answer, marked stopped, saved so."""
    url, parts, history = long_served
    model = parts.assistant.model
    with browser_pages(url, 2) as ((first, second), _):
        _ask(first, LONG)
        first_bot = first.locator(BOTS).last
        _writing(first)
        _ask(second, QUESTION)  # the second person waits in line behind it
        second.locator("#stop").wait_for(timeout=TIMEOUT_MS)
        assert second.locator(BOTS).count() == 0, "nothing answers the second while held"
        assert first_bot.locator(".answer-meta").count() == 0, "the first is still streaming"
        first.keyboard.press("Escape")

        first_bot.locator(".answer-stopped").wait_for(timeout=TIMEOUT_MS)
        stopped_at = model.tokens_generated
        partial = first_bot.evaluate(ANSWER_JS)
        assert partial, "the partial answer stays in the chat"
        first.locator("#send").wait_for(timeout=TIMEOUT_MS)  # Send is back, Stop gone
        assert not first.locator("#stop").is_visible()
        _writing(second)  # the model writes for the next in line
        assert model.tokens_generated > stopped_at
        second.locator("#stop").click()  # the button does the same as Esc
        second.locator(BOTS).last.locator(".answer-stopped").wait_for(timeout=TIMEOUT_MS)
        assert second.locator(BOTS).last.evaluate(ANSWER_JS)

    turn = _stored(history, LONG)["turns"][-1]
    assert turn["question"] == LONG and turn["stopped"]
    first_word = next(w for w in turn["answer"].split() if w.isalpha())
    assert first_word in partial, (turn["answer"], partial)


def test_retry_asks_again_in_place_of_the_last_answer(served):
    url, parts, history = served
    model = parts.assistant.model
    question = "Under what licence was Llama 2 released?"
    with browser_page(url) as (page, _):
        _ask(page, question)
        _finished(page)
        before = model.tokens_generated
        page.locator("#chat button[aria-label='Retry']").click()
        page.locator("#stop").wait_for(timeout=TIMEOUT_MS)  # asked again
        bot = _finished(page)
        assert bot.locator(".answer-meta").count() == 1
        assert page.locator(BOTS).count() == 1, "the answer is replaced, not added"
    assert model.tokens_generated > before, "the model answered again"
    turns = _stored(history, question)["turns"]
    assert [t["question"] for t in turns] == [question]  # one turn, the retried one


def test_edit_and_resend_replaces_the_last_question_and_its_answer(served):
    url, _parts, history = served
    with browser_page(url) as (page, _):
        _ask(page, "When was Llama 1 released?")
        _finished(page)
        page.locator("#chat button[aria-label='Edit']").click()
        edit = page.locator("#chat textarea.edit-textarea")  # slow to open on a loaded machine
        edit.fill("When was Llama 3 released?", timeout=TIMEOUT_MS)
        page.locator("#chat button[aria-label='Submit']").click()
        page.locator("#stop").wait_for(timeout=TIMEOUT_MS)
        _finished(page)
        assert page.locator(BOTS).count() == 1
        assert "Llama 3" in page.inner_text("#chat")
    turns = _stored(history, "When was Llama 3 released?")["turns"]
    assert [t["question"] for t in turns] == ["When was Llama 3 released?"]
    assert history.list(LOCAL, "When was Llama 1 released?") == []


def test_sidebar_searches_reopens_renames_and_deletes(served):
    url, _parts, history = served

    def keep(question: str, text: str) -> str:
        return history.record(LOCAL, Answer(question, text, [], False, "m"))

    leave = keep("How many vacation days do apprentices get?", "Apprentices get 30 days.")
    other = keep("Which printers are on floor two?", "The quokka-branded ones.")
    with browser_page(url) as (page, _):
        listed = page.locator("#conversations label")
        listed.filter(has_text="vacation days").wait_for(timeout=TIMEOUT_MS)
        page.locator("#conversation-search input").fill("quokka")  # a word of an answer
        page.wait_for_function(
            "() => document.querySelectorAll('#conversations label').length === 1",
            timeout=TIMEOUT_MS,
        )
        assert "printers" in listed.first.inner_text()
        page.locator("#conversation-search input").fill("")
        page.wait_for_function(  # the whole list is back
            "() => document.querySelectorAll('#conversations label').length > 1",
            timeout=TIMEOUT_MS,
        )
        pick_history(page, "vacation days")
        assert "Apprentices get 30 days." in page.inner_text("#chat")

        page.locator("#conversation-tools").get_by_text("Rename, export or delete").click()
        page.locator("#history-title input").fill("Apprentice leave")
        page.locator("#history-rename").click()
        page.wait_for_selector("#history-note:has-text('Renamed')", timeout=TIMEOUT_MS)
        listed.filter(has_text="Apprentice leave").wait_for(timeout=TIMEOUT_MS)
        assert history.get(LOCAL, leave)["title"] == "Apprentice leave"

        page.locator("#history-delete").click()
        page.wait_for_selector("#history-note:has-text('Deleted')", timeout=TIMEOUT_MS)
        assert listed.filter(has_text="Apprentice leave").count() == 0
        assert page.locator(BOTS).count() == 0, "the deleted conversation left the chat"
    assert history.get(LOCAL, leave) is None and history.get(LOCAL, other) is not None


def test_keyboard_only_question_and_answer(served):
    """Focus starts in the box; Shift+Enter is a new line, Enter sends (Esc stops: see the
    first test); every control has a name and a visible focus."""
    url, _parts, history = served
    with browser_page(url) as (page, _):
        page.wait_for_selector("#documents table.docs", timeout=TIMEOUT_MS)
        assert page.evaluate("document.activeElement.closest('#question') !== null")
        page.keyboard.type("When was Llama 2")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("released?")
        assert page.locator("#question textarea").input_value() == "When was Llama 2\nreleased?"
        page.keyboard.press("Enter")
        bot = _finished(page)
        assert bot.locator(".answer-meta").count() == 1 and bot.evaluate(ANSWER_JS)

        page.locator("#question textarea").focus()
        page.keyboard.press("Tab")  # to Send
        focused = page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.id, s.outlineStyle, s.outlineWidth]; }"
        )
        assert focused[0] == "send" and focused[1] != "none" and focused[2] != "0px", focused
        for role, name in [
            ("textbox", "Question"),
            ("button", "Send"),
            ("button", "New conversation"),
            ("textbox", "Search conversations"),
            ("radio", "When was Llama 2 released?"),  # the new conversation, by its title
            ("combobox", "Collection questions go to"),
        ]:
            page.get_by_role(role, name=name).first.wait_for(timeout=TIMEOUT_MS)
    assert _stored(history, "When was Llama 2\nreleased?")["turns"][-1]["answer"]


def test_page_at_phone_width_folds_the_sidebar_and_shows_box_and_answer(served):
    url, _parts, _history = served
    with browser_page(url, width=390, height=844) as (page, _):
        page.wait_for_selector("#documents table.docs", timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => !document.querySelector('.sidebar').classList.contains('open')",
            timeout=TIMEOUT_MS,
        )
        box = page.locator("#question textarea")
        assert box.is_visible() and _inside(page, box)
        _ask(page, QUESTION)
        bot = _finished(page)
        bot.scroll_into_view_if_needed()
        assert bot.is_visible() and _inside(page, bot) and bot.evaluate(ANSWER_JS)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways: {width}px"
        page.screenshot(path="/tmp/ui-390.png", full_page=True)

        page.locator(".sidebar .toggle-button").click()  # unfold, choose, and it folds again
        page.locator("#conversations label").first.click(timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => !document.querySelector('.sidebar').classList.contains('open')",
            timeout=TIMEOUT_MS,
        )


def _inside(page: Page, locator: Any) -> bool:
    """Whether the element lies within the viewport's width."""
    box = locator.bounding_box()
    return (
        box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    )
