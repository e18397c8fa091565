"""The web UI with login on, in a real headless Chromium against the real server: sign
in, ask across the collections you may read, see only those, find the answer in your
history. Setup and users come from `support.server` (alice reads `documents` only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.browser import browser_page, pick_history
from support.server import PASSWORDS, PAYROLL_QUESTION, SECRET, build_world, serving

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:::gradio.queueing")]
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    parts, directory, _ = build_world(tmp_path_factory.mktemp("world") / "data")
    with serving(parts, directory) as (url, _):
        yield url


def test_browser_signs_in_and_sees_only_readable_collections(url: str):
    with browser_page(url) as (page, _):
        assert page.locator("form[action='/login']").is_visible()  # the 401 page is the form
        page.fill("#username", "alice")
        page.fill("#password", "wrong password")
        page.click("button[type=submit]")
        assert "Wrong user name or password" in page.inner_text("body")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORDS["alice"])
        page.click("button[type=submit]")

        page.wait_for_selector("#documents table.docs", timeout=TIMEOUT_MS)
        listed = page.locator("#documents .doc-file").all_inner_texts()
        assert "notice.md" in listed and "payroll-2026.md" not in listed
        assert SECRET not in page.content()

        box = page.locator("#question textarea")
        box.fill(PAYROLL_QUESTION)
        box.press("Enter")
        bot = page.locator("[data-testid='bot']").last
        bot.locator(".answer-meta, .answer-error").wait_for(timeout=TIMEOUT_MS)
        assert bot.locator(".answer-error").count() == 0
        shown = bot.locator(".sources .src-file").all_inner_texts()
        assert shown and "payroll-2026.md" not in shown
        assert SECRET not in page.content()

        # the answer is in alice's conversations, in the sidebar: reopen it, then delete it
        page.locator("#new-conversation").click()
        page.wait_for_function("document.querySelectorAll(\"[data-testid='bot']\").length === 0")
        pick_history(page, "chief executive")
        page.wait_for_selector("#chat .src-file", timeout=TIMEOUT_MS)
        assert PAYROLL_QUESTION.split(",")[0] in page.inner_text("#chat")
        page.locator("#conversation-tools").get_by_text("Rename, export or delete").click()
        page.locator("#history-delete").click()
        page.wait_for_selector("#history-note:has-text('Deleted')", timeout=TIMEOUT_MS)
        assert page.locator("#conversations label").filter(has_text="chief executive").count() == 0
        page.screenshot(path="/tmp/ui-login.png", full_page=True)
        page.locator("#user-menu summary").click()  # the account menu: who, and sign out
        assert page.locator("#user-menu summary").inner_text().strip() == "alice"
        assert page.locator("#user-menu").get_by_text("Admin page").count() == 0  # not an admin
        page.click("#sign-out button")
        page.wait_for_selector("form[action='/login']", timeout=TIMEOUT_MS)
        assert page.goto(url).status == 401  # the session is gone on the server too


def test_browser_upload_is_refused_where_alice_is_only_a_reader(url: str, tmp_path: Path):
    doc = tmp_path / "leave.md"
    doc.write_text("# Leave\n\nStaff get 30 days of annual leave.\n")
    with browser_page(url) as (page, _):
        page.fill("#username", "alice")
        page.fill("#password", PASSWORDS["alice"])
        page.click("button[type=submit]")
        page.locator("button[role=tab]:has-text('Documents')").first.click()
        page.wait_for_selector("#collection-documents table.docs", timeout=TIMEOUT_MS)
        # She owns no collection: the server takes no file from her at all (issue 12), so
        # nothing of it lands even in Gradio's temporary folder.
        sent = lambda r: "/gradio_api/upload?" in r.url and r.request.method == "POST"  # noqa: E731
        with page.expect_response(sent, timeout=TIMEOUT_MS) as response:
            page.locator("#upload-files input[type=file]").set_input_files(str(doc))
        assert response.value.status == 403
        page.locator("#upload").click()
        page.locator("#upload-results .answer-error, #upload-results .note").first.wait_for(
            timeout=TIMEOUT_MS
        )
        assert "leave.md" not in page.locator("#collection-documents").inner_text()


def test_browser_api_docs_load_nothing_from_elsewhere(url: str):
    with browser_page(url) as (page, requests):
        page.fill("#username", "alice")
        page.fill("#password", PASSWORDS["alice"])
        page.click("button[type=submit]")
        page.wait_for_selector("#documents table.docs", timeout=TIMEOUT_MS)
        page.goto(url + "/docs")
        page.get_by_text("/v1/chat/completions").first.wait_for(timeout=TIMEOUT_MS)
        assert page.get_by_text("/api/ask").first.is_visible()
    for u in requests:
        parts = urlsplit(u)
        assert parts.scheme in ("data", "blob") or parts.hostname == "127.0.0.1", u
