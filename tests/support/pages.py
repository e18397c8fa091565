"""Every page a person sees, visited in one signed-in browser: the login form, the chat
with an answer shown, the documents, the history, the admin page and the document viewer.
The accessibility check (axe-core) and the screenshots both walk this tour.

Pages are reached by URL and stable element ids (`elem_id`), never by layout, so the tour
keeps working when the chat page is re-arranged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlencode

from playwright.sync_api import Page

from assistant.factory import Components
from support.server import PASSWORDS

QUESTION = "When was Llama 2 released, and under what licence?"
TIMEOUT_MS = 120_000
PAGES = ("login", "chat", "documents", "history", "admin", "viewer")
# Gradio fades a component that is being updated (`.pending`, opacity .2 and a transition):
# measured mid-fade, its text's contrast is not the page's. Settled: no pending component,
# no finite animation or transition running (endless spinners aside).
SETTLED_JS = """() => !document.querySelector('.pending') && document.getAnimations().every(
  a => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity)"""


def settle(page: Page) -> None:
    page.wait_for_function(SETTLED_JS, timeout=TIMEOUT_MS)


def sign_in(page: Page, user: str) -> None:
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_selector("#question textarea", timeout=TIMEOUT_MS)


def open_tab(page: Page, name: str) -> None:
    """Click the tab called `name` where the page has tabs (a sidebar layout may not)."""
    tab = page.get_by_role("tab", name=name)
    if tab.count():
        tab.first.click()


def open_sidebar(page: Page) -> None:
    """Unfold the conversations' sidebar where it is folded (a phone's width)."""
    if page.locator(".sidebar:not(.open)").count():
        page.locator(".sidebar .toggle-button").click()
        page.wait_for_selector(".sidebar.open")


def ask(page: Page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    bot = page.locator("[data-testid='bot']").last
    bot.locator(".answer-meta, .answer-error").wait_for(timeout=TIMEOUT_MS)


def viewer_url(parts: Components) -> str:
    """The viewer on the third chunk of the longest seed document, its first sentence marked
    as the evidence (as a citation opens it)."""
    chunks = list(parts.store.chunks("documents"))
    longest = Counter(str(c.metadata.get("source")) for c in chunks).most_common(1)[0][0]
    chunk = sorted(
        (c for c in chunks if c.metadata.get("source") == longest),
        key=lambda c: int(c.metadata.get("chunk_index", 0)),
    )[2]
    end = chunk.text.find(". ") + 1 or len(chunk.text)
    query = {"collection": "documents", "source": longest, "chunk": chunk.id}
    return f"/view?{urlencode(query | {'start': '0', 'end': str(end)})}#evidence"


def tour(page: Page, base: str, parts: Components) -> Iterator[str]:
    """Visit each page of PAGES in turn, signed in as the admin; yields the page's name
    while it is shown and settled."""
    page.goto(base + "/login")
    page.wait_for_selector("form[action='/login']")
    yield "login"
    sign_in(page, "admin")
    ask(page, QUESTION)
    settle(page)
    yield "chat"
    open_tab(page, "Documents")
    page.wait_for_selector("#collection-documents table.docs", timeout=TIMEOUT_MS)
    settle(page)
    yield "documents"
    open_tab(page, "Chat")
    open_sidebar(page)
    page.locator("#conversations label").filter(has_text="Llama 2").first.wait_for()
    settle(page)
    yield "history"
    page.goto(base + "/admin")
    page.wait_for_selector("h1:has-text('Admin')")
    yield "admin"
    page.goto(base + viewer_url(parts))
    page.wait_for_selector("#cited")
    yield "viewer"
