"""The Documents page's table, one page at a time, as safe HTML (no Gradio here).

A department's collection holds thousands of documents, so the page shows one page of
`PAGE_SIZE` (searched, sorted and cut by the store's manifest query) with what people ask
about a document: its title, format, chunks, size, when it was ingested and by whom.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import PurePath

from assistant.store import DocumentInfo, DocumentPage, DocumentQuery
from assistant.store.listing import MAX_SEARCH_CHARS as MAX_SEARCH
from assistant.store.listing import Sort

__all__ = ["MAX_SEARCH", "SORT_CHOICES", "page_query", "pager_html", "table_html"]

# (label, value) for the sort picker; the value is "<key>:<asc|desc>".
SORT_CHOICES: list[tuple[str, str]] = [
    ("Name A–Z", "name:asc"),
    ("Name Z–A", "name:desc"),
    ("Newest first", "date:desc"),
    ("Oldest first", "date:asc"),
    ("Largest first", "size:desc"),
    ("Smallest first", "size:asc"),
]
DEFAULT_SORT = "name:asc"

CSS = """
.docs .doc-format, .docs .doc-size, .docs .doc-by { width: 1%; white-space: nowrap; }
.docs .doc-size { text-align: right; }
.docs .doc-unknown { opacity: .6; }
.docs-pager { font-size: .85em; margin: .2em 0; }
.src-title { font-style: italic; }
.src-title::before { content: "· "; font-style: normal; }
"""


def _esc(text: object) -> str:
    return html.escape(" ".join(str(text).split()), quote=True)


def parse_sort(value: str | None) -> tuple[Sort, bool]:
    """(sort key, descending) from a picker value; anything else is the default."""
    key, _, way = (value or DEFAULT_SORT).partition(":")
    if key not in ("name", "date", "size") or way not in ("asc", "desc"):
        return "name", False
    sort: Sort = key  # type: ignore[assignment]  # checked just above
    return sort, way == "desc"


def page_query(search: str | None, sort: str | None, page: int, size: int) -> DocumentQuery:
    """The store query of page `page` (1-based) of a search."""
    key, descending = parse_sort(sort)
    return DocumentQuery(
        search=search or "",
        sort=key,
        descending=descending,
        limit=size,
        offset=(max(1, page) - 1) * size,
    )


def page_count(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))


def file_format(source: str) -> str:
    """What kind of file, as people name it: its extension in capitals."""
    return PurePath(source).suffix.lstrip(".").upper() or "—"


def human_size(size: int | None) -> str:
    if size is None:
        return "—"
    value, unit = float(size), "bytes"
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def ingested_by(who: str) -> str:
    """Who ingested it: a signed-in user's name, the command line (with the account that
    ran it), or unknown for documents stored before the store recorded it."""
    if not who:
        return "—"
    if who.startswith("cli:"):
        return f"command line ({who[4:]})"
    return who


def pager_text(page: DocumentPage, search: str) -> str:
    """'Page 3 of 200 · 10,000 documents' (with the search when there is one)."""
    number = page.offset // page.limit + 1
    of = page_count(page.total, page.limit)
    noun = "document" if page.total == 1 else "documents"
    matching = f" matching “{search.strip()}”" if search.strip() else ""
    return f"Page {number} of {of} · {page.total:,} {noun}{matching}"


def pager_html(page: DocumentPage, search: str) -> str:
    return f'<p class="docs-pager" aria-live="polite">{_esc(pager_text(page, search))}</p>'


def _row(d: DocumentInfo, when: str) -> str:
    name = PurePath(d.source).name or d.source
    who = ingested_by(d.ingested_by)
    unknown = ' class="doc-by doc-unknown"' if who == "—" else ' class="doc-by"'
    return (
        f'<tr><td class="doc-file" title="{_esc(d.source)}">{_esc(name)}</td>'
        f'<td class="doc-title">{_esc(d.title)}</td>'
        f'<td class="doc-format">{_esc(file_format(d.source))}</td>'
        f'<td class="doc-chunks">{d.chunks}</td>'
        f'<td class="doc-size">{_esc(human_size(d.size))}</td>'
        f'<td class="doc-when">{_esc(when)}</td>'
        f"<td{unknown}>{_esc(who)}</td></tr>"
    )


def table_html(
    page: DocumentPage, collection: str, search: str, hint: str, when: Callable[[str], str]
) -> str:
    """One page of documents as a table; `when` formats an ingest time (render.when)."""
    if not page.documents:
        if search.strip():
            return (
                f'<p class="docs-empty">No document in <b>{_esc(collection)}</b> has'
                f" “{_esc(search.strip())}” in its file name or title.</p>"
            )
        return (
            f'<p class="docs-empty">No documents in collection <b>{_esc(collection)}</b>.'
            f" {hint}</p>"
        )
    rows = "".join(_row(d, when(d.ingested_at)) for d in page.documents)
    head = "".join(
        f'<th scope="col" class="{cls}">{label}</th>'
        for label, cls in [
            ("File", "head-file"),
            ("Title", "head-title"),
            ("Format", "doc-format"),
            ("Chunks", "doc-chunks"),
            ("Size", "doc-size"),
            ("Ingested", "doc-when"),
            ("By", "doc-by"),
        ]
    )
    return (
        f'<table class="docs" aria-label="Documents in {_esc(collection)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
