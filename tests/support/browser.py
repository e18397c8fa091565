"""A real headless browser for the UI tests: Playwright driving Debian's Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page

# Debian's Chromium (never `playwright install`); no sandbox as root, no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def browser_page(url: str) -> Iterator[tuple[Page, list[str]]]:
    """Debian's Chromium on `url`, recording every URL the page, or any page it opens
    (`page.context.expect_page()`), requests."""
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.on("request", lambda r: requests.append(r.url))
            page = context.new_page()
            page.goto(url)
            yield page, requests
        finally:
            browser.close()


def pick_history(page: Page, text: str) -> None:
    """Choose the History tab's conversation whose title holds `text` (the list arrives
    with the tab's refresh, so it is opened until the entry is there)."""
    option = page.get_by_role("option").filter(has_text=text)
    for _ in range(40):
        page.locator("#history-select input").click()
        if option.count():
            break
        page.keyboard.press("Escape")
        page.wait_for_timeout(250)
    option.first.click()
