"""The Documents page at scale: a page of 50 at a time, searched and sorted by the store,
for the page's handlers, the HTTP API (with its bounds and permissions), and a person in
a real headless Chromium paging and searching through 10,000 documents.

The documents are manifest rows only (`support.documents`): what is tested is the
listing, which reads nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePath

import httpx
import pytest
from support.browser import browser_page
from support.documents import fill_collection, generated_row
from support.server import serving

from assistant.auth import Database, Directory
from assistant.auth.access import Principal
from assistant.store import Chunk
from ui.doclist import human_size
from ui.documents import DocumentsHandlers

pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")
N = 230
TIMEOUT_MS = 60_000


@pytest.fixture
def parts(fresh):
    fill_collection(fresh.store, "dept", N)
    fill_collection(fresh.store, "secret", 3)
    return fresh


def handlers(parts, user: Principal | None = None) -> DocumentsHandlers:
    return DocumentsHandlers(parts.store, None, "dept", (lambda _: user) if user else None)


def files(table: str) -> list[str]:
    return re.findall(r'<td class="doc-file" title="[^"]*">([^<]*)</td>', table)


def test_the_page_shows_fifty_documents_and_turns_to_the_ends(parts):
    h = handlers(parts)
    table, pager, page, choices = h.listing("dept", "", "name:asc", 1)
    names = sorted(PurePath(generated_row(i).source).name for i in range(N))
    assert files(table) == names[:50] and page == 1
    assert "Page 1 of 5 · 230 documents" in pager
    assert [source for _, source in choices["choices"]] == [
        generated_row(i).source for i in range(50)
    ]  # the delete picker offers the page's documents
    table, pager, page, _ = h.last("dept", "", "name:asc", 1, None)
    assert (page, files(table)) == (5, names[200:])
    assert "Page 5 of 5" in pager
    table, _, page, _ = h.next("dept", "", "name:asc", 5, None)  # past the end: stays
    assert (page, files(table)) == (5, names[200:])
    table, _, page, _ = h.previous("dept", "", "name:asc", 5, None)
    assert (page, files(table)) == (4, names[150:200])
    _, _, page, _ = h.first("dept", "", "name:asc", 4, None)
    assert page == 1


def test_search_and_sort_reach_the_store_and_the_pager_says_so(parts):
    h = handlers(parts)
    table, pager, _, _ = h.listing("dept", "payroll", "size:desc", 1)
    payroll = [generated_row(i) for i in range(N) if i % 7 == 2]
    by_size = sorted(payroll, key=lambda r: r.size or 0, reverse=True)
    assert files(table) == [PurePath(r.source).name for r in by_size[:50]]
    assert f"Page 1 of 1 · {len(payroll)} documents matching “payroll”" in pager
    empty, pager, _, choices = h.listing("dept", "no such thing", "name:asc", 3)
    assert "has “no such thing” in its file name or title" in empty
    assert "Page 1 of 1 · 0 documents" in pager and choices["choices"] == []


def test_each_row_says_format_size_when_and_by_whom(parts):
    default = parts.store.default_collection
    parts.store.add([Chunk("x", "t", {"source": "/old/notes", "doc_hash": "h", "title": "<b>"})])
    h = handlers(parts)
    table, *_ = h.listing("dept", "report-00010.", "name:asc", 1)
    row = generated_row(10)
    assert [human_size(1536), human_size(5 * 1024**2), human_size(12)] == [
        "1.5 KB",
        "5.0 MB",
        "12 bytes",
    ]
    assert f'<td class="doc-format">{PurePath(row.source).suffix[1:].upper()}</td>' in table
    assert f'<td class="doc-size">{human_size(row.size)}</td>' in table
    assert '<td class="doc-by">alice</td>' in table  # every 10th was uploaded by alice
    assert "2025-" in table and "UTC" in table
    table, *_ = h.listing("dept", "report-00011.", "name:asc", 1)
    assert '<td class="doc-by">command line (root)</td>' in table
    old, *_ = h.listing(default, "notes", "name:asc", 1, None)
    assert "&lt;b&gt;" in old and "<b>" not in old.split("<tbody>")[1]  # escaped
    assert '<td class="doc-format">—</td>' in old and '<td class="doc-size">—</td>' in old


def test_a_user_sees_only_the_collections_they_may_read(parts):
    reader = Principal("alice", readable=frozenset({"dept"}))
    h = handlers(parts, reader)
    table, pager, _, choices = h.listing("secret", "", "name:asc", 1, request=object())
    assert "no collection named &#x27;secret&#x27;" in table and pager == ""
    assert choices["choices"] == []
    table, *_ = h.listing("dept", "", "name:asc", 1, request=object())
    assert len(files(table)) == 50
    picked, search, sort, table, *_ = h.refresh("secret", request=object())
    assert picked["choices"] == ["dept"] and picked["value"] == "dept"
    assert (search, sort, len(files(table))) == ("", "name:asc", 50)


@pytest.fixture
def api(parts) -> Iterator[tuple[str, dict[str, str]]]:
    """The server with login on: alice reads `dept`, not `secret`; her token's header."""
    directory = Directory(Database(parts.settings.database))
    directory.add_user("alice", "alice-pass-1", groups=["staff"])
    directory.grant("staff", "dept", "read")
    token = directory.create_token("alice", "test")
    with serving(parts, directory) as (url, _):
        yield url, {"authorization": f"Bearer {token}"}


@pytest.mark.slow
def test_the_api_pages_searches_and_sorts_within_bounds(api):
    url, auth = api
    with httpx.Client(base_url=url, headers=auth, timeout=60) as c:
        r = c.get("/api/documents", params={"collection": "dept"})
        assert r.status_code == 200 and len(r.json()) == 50
        assert r.headers["x-total-count"] == str(N)
        r = c.get(
            "/api/documents",
            params={"collection": "dept", "q": "LEAVE", "sort": "-date", "limit": 7, "offset": 3},
        )
        leave = sorted(
            (generated_row(i) for i in range(N) if i % 7 == 0),
            key=lambda r: r.ingested_at,
            reverse=True,
        )
        assert [d["source"] for d in r.json()] == [r.source for r in leave[3:10]]
        assert r.headers["x-total-count"] == str(len(leave))
        assert {"size", "ingested_by", "title", "chunks"} <= set(r.json()[0])
        past = c.get("/api/documents", params={"collection": "dept", "offset": 10**6})
        assert past.status_code == 200 and past.json() == []
        for abuse in [
            {"limit": 10**9},
            {"limit": 0},
            {"offset": -1},
            {"q": "x" * 10_000},
            {"sort": "chunks"},
            {"limit": "many"},
        ]:
            r = c.get("/api/documents", params={"collection": "dept", **abuse})
            assert r.status_code == 422, abuse
            assert next(iter(abuse)) in r.text  # names the parameter
        denied = c.get("/api/documents", params={"collection": "secret"})
        assert denied.status_code == 404 and "report" not in denied.text


@pytest.fixture
def big(fresh) -> Iterator[str]:
    fill_collection(fresh.store, "dept", 10_000)
    with serving(fresh) as (url, _):
        yield url + "/"


@pytest.mark.slow
def test_browser_pages_and_searches_ten_thousand_documents(big):
    from playwright.sync_api import expect

    names = sorted(PurePath(generated_row(i).source).name for i in range(10_000))
    with browser_page(big) as (page, _):
        page.get_by_role("tab", name="Documents").click()
        page.locator("#docs-collection input").click()
        page.get_by_role("option", name="dept").click()
        pager, rows = page.locator("#docs-page"), page.locator("#collection-documents tbody tr")
        expect(pager).to_have_text("Page 1 of 200 · 10,000 documents", timeout=TIMEOUT_MS)
        expect(rows).to_have_count(50)
        page.locator("#docs-next").click()
        expect(pager).to_contain_text("Page 2 of 200")
        expect(rows.first.locator(".doc-file")).to_have_text(names[50])
        page.locator("#docs-last").click()
        expect(pager).to_contain_text("Page 200 of 200")
        expect(rows.last.locator(".doc-file")).to_have_text(names[-1])
        page.locator("#docs-prev").click()
        expect(pager).to_contain_text("Page 199 of 200")
        expect(rows.first.locator(".doc-file")).to_have_text(names[9900])

        # Typed as a person types: the list follows each keystroke, the last one wins.
        page.locator("#docs-search textarea").press_sequentially("report-0421", delay=20)
        expect(pager).to_have_text("Page 1 of 1 · 10 documents matching “report-0421”")
        expect(rows).to_have_count(10)
        page.locator("#docs-sort input").click()
        page.get_by_role("option", name="Largest first").click()
        hits = [generated_row(i) for i in range(4210, 4220)]
        biggest = max(hits, key=lambda r: r.size or 0)
        expect(rows.first.locator(".doc-file")).to_have_text(PurePath(biggest.source).name)
        page.screenshot(path="/tmp/ui-documents-10k.png", full_page=True)

        gone = PurePath(biggest.source).name  # the delete picker offers this page's documents
        page.locator("#delete-select input").click()
        page.get_by_role("option", name=gone).click()
        page.locator("#delete").click()
        page.locator("#confirm-delete").click()
        expect(page.locator("#delete-message")).to_contain_text("Deleted 1 document(s)")
        expect(pager).to_have_text("Page 1 of 1 · 9 documents matching “report-0421”")
        expect(page.locator("#collection-documents")).not_to_contain_text(gone)
