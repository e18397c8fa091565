"""The Documents page at scale (issue 17.4): one page of a 10,000-document collection, for
the store's query and for what the page's handler returns (query plus the HTML table),
first, middle and last page, two searches, and every sort.

The collection is manifest rows only (`tests/support/documents.py`, written in one
transaction): the listing reads the manifest alone, so no chunk is embedded. What this
measures is the listing; it says nothing about retrieval over 10,000 documents.

    .venv/bin/python bench/documents_bench.py              # ~1 minute
    .venv/bin/python bench/documents_bench.py --documents 100000 --repeat 5
    .venv/bin/python bench/documents_bench.py --browser    # + clicks in Chromium, ~1 more

`--browser` also times what a person waits for in headless Chromium against the served
app: from a click (or the last keystroke) to the new pager line on screen, through
Gradio's queue and websocket.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

TARGET_MS = 1000.0


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, worst) milliseconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def cases(n: int) -> list[tuple[str, str, str, int]]:
    """(row name, search, sort, page) for the page's handler."""
    last = max(1, -(-n // 50))
    return [
        ("first page, by name", "", "name:asc", 1),
        ("middle page, by name", "", "name:asc", last // 2),
        ("last page, by name", "", "name:asc", last),
        ("search 'payroll' (title, 1/7 match)", "payroll", "name:asc", 1),
        ("search 'report-0421' (name, 10 match)", "report-0421", "name:asc", 1),
        ("search '%_' (escaped, 0 match)", "%_", "name:asc", 1),
        ("last page, name Z–A", "", "name:desc", last),
        ("middle page, newest first", "", "date:desc", last // 2),
        ("middle page, oldest first", "", "date:asc", last // 2),
        ("middle page, largest first", "", "size:desc", last // 2),
        ("last page, smallest first", "", "size:asc", last),
    ]


def browser_rows(parts: object, repeat: int, n: int) -> None:
    """Click to pager line in Chromium, per action (median / worst of `repeat`)."""
    from support.browser import browser_page
    from support.server import serving

    with serving(parts) as (url, _), browser_page(url + "/") as (page, _):  # type: ignore[arg-type]
        box = page.locator("#docs-search textarea")

        def clear() -> None:
            box.fill("")
            box.press("Enter")

        actions: list[tuple[str, str, Callable[[], object]]] = [
            ("next page", "Page 2 of", page.locator("#docs-next").click),
            ("last page", f"Page {-(-n // 50)} of", page.locator("#docs-last").click),
            ("first page", "Page 1 of", page.locator("#docs-first").click),
            ("search, typed (11 keys)", "matching", lambda: box.press_sequentially("report-0421")),
            ("search cleared", f"{n:,} documents", clear),
        ]
        page.get_by_role("tab", name="Documents").click()
        page.locator("#docs-collection input").click()
        page.get_by_role("option", name="dept").click()
        page.locator("#docs-page", has_text=f"{n:,} documents").wait_for(timeout=60_000)
        samples: dict[str, list[float]] = {}
        for _ in range(repeat):
            for name, text, act in actions:
                started = time.perf_counter()
                act()
                page.locator("#docs-page", has_text=text).wait_for(timeout=60_000)
                samples.setdefault(name, []).append((time.perf_counter() - started) * 1000)
    for name, ms in samples.items():
        print(
            f"| browser: {name}, click to pager | — | {statistics.median(ms):.0f} / {max(ms):.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--browser", action="store_true", help="also time clicks in Chromium")
    args = parser.parse_args()

    from support.documents import fill_collection
    from support.paths import make_settings

    from assistant.factory import Components
    from ui import doclist, render
    from ui.documents import DocumentsHandlers

    with tempfile.TemporaryDirectory() as tmp:
        parts = Components(make_settings(Path(tmp) / "data", auto_seed=False))
        store = parts.store
        started = time.perf_counter()
        fill_collection(store, "dept", args.documents)
        written = time.perf_counter() - started
        h = DocumentsHandlers(store, None, "dept", None)
        print(f"{args.documents:,} manifest rows written in {written:.2f} s; median and worst")
        print(f"of {args.repeat} runs, milliseconds; target < {TARGET_MS:.0f} ms a page.\n")
        print("| page | store query (median / worst) | page: query + HTML (median / worst) |")
        print("|---|---:|---:|")
        worst = 0.0
        for name, search, sort, page in cases(args.documents):
            query = doclist.page_query(search, sort, page, 50)
            q_med, q_max = timed(lambda q=query: store.document_page("dept", q), args.repeat)
            p_med, p_max = timed(
                lambda q=search, s=sort, p=page: h.listing("dept", q, s, p), args.repeat
            )
            worst = max(worst, q_max, p_max)
            print(f"| {name} | {q_med:.1f} / {q_max:.1f} | {p_med:.1f} / {p_max:.1f} |")
        every = timed(
            lambda: render.documents_html(store.documents("dept"), "dept", detail=True), 3
        )
        print(f"| (before: every document in one table) | — | {every[0]:.0f} / {every[1]:.0f} |")
        if args.browser:
            browser_rows(parts, min(args.repeat, 5), args.documents)
        verdict = "ok" if worst < TARGET_MS else "MISSED"
        print(f"\nworst page, store and handler: {worst:.1f} ms (< {TARGET_MS:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
