"""A real headless browser for the UI tests: Playwright driving Debian's Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

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
def browser_page(
    url: str,
    width: int = 1400,
    height: int = 1000,
    color_scheme: Literal["light", "dark"] = "light",
) -> Iterator[tuple[Page, list[str]]]:
    """Debian's Chromium on `url`, recording every URL the page, or any page it opens
    (`page.context.expect_page()`), requests. `color_scheme` is the system setting the
    page sees (`prefers-color-scheme`)."""
    with browser_pages(url, 1, width, height, color_scheme) as (pages, requests):
        yield pages[0], requests


@contextmanager
def browser_pages(
    url: str,
    count: int,
    width: int = 1400,
    height: int = 1000,
    color_scheme: Literal["light", "dark"] = "light",
) -> Iterator[tuple[list[Page], list[str]]]:
    """`count` pages on `url`, each in a context of its own (separate people: their own
    cookies and Gradio sessions), and every URL any of them requests."""
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(count):
                context = browser.new_context(
                    viewport={"width": width, "height": height}, color_scheme=color_scheme
                )
                context.on("request", lambda r: requests.append(r.url))
                page = context.new_page()
                page.goto(url)
                pages.append(page)
            yield pages, requests
        finally:
            browser.close()


def pick_history(page: Page, text: str) -> None:
    """Open the sidebar's conversation whose title holds `text` in the chat (the list
    arrives with the page's load, or the answer that made it)."""
    page.locator("#conversations label").filter(has_text=text).first.click(timeout=60_000)
    page.wait_for_selector("[data-testid='bot']", timeout=60_000)
