"""One page of a collection's documents: search, sort and paging done by the database.

The Documents page of a department holds thousands of files, so the manifest answers
"page 37 of the documents whose name or title contains 'leave', newest first" with one
SQL query (`LIMIT/OFFSET`, `ORDER BY` over an index, `LIKE` with its wildcards escaped)
instead of listing everything into Python. `select_page` is the same rule in Python, for
the Chroma-server manifest, which has no SQL (and the tests hold the two to each other).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from assistant.store.manifest import DocumentRow

Sort = Literal["name", "date", "size"]
SORTS: tuple[Sort, ...] = ("name", "date", "size")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500  # a bigger `limit` is clamped: one page never lists a whole store
MAX_SEARCH_CHARS = 200  # a longer search is refused by the web layer, cut here


@dataclass(frozen=True)
class DocumentQuery:
    """Which page: `search` matches the file name or the title (case-insensitive for
    ASCII, `%` and `_` literally); `sort` by file name, ingest time or file size."""

    search: str = ""
    sort: Sort = "name"
    descending: bool = False
    limit: int = PAGE_SIZE
    offset: int = 0

    def clamped(self) -> DocumentQuery:
        """The same query within bounds (what the store runs)."""
        sort: Sort = self.sort if self.sort in SORTS else "name"
        return DocumentQuery(
            search=" ".join(self.search.split())[:MAX_SEARCH_CHARS],
            sort=sort,
            descending=bool(self.descending),
            limit=max(1, min(int(self.limit), MAX_PAGE_SIZE)),
            offset=max(0, int(self.offset)),
        )


def file_name(source: str) -> str:
    """What the `name` column holds (and people search and sort by): the basename."""
    return PurePath(source).name or source


def like_pattern(search: str) -> str:
    r"""`search` as a LIKE pattern matching it anywhere, `\`, `%` and `_` taken literally
    (the query says ESCAPE '\')."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def page_sql(query: DocumentQuery) -> tuple[str, str, list[str]]:
    """(WHERE clause, ORDER BY clause, WHERE's arguments after the collection)."""
    where = "collection = ?"
    args: list[str] = []
    if query.search:
        where += " AND (name LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\')"
        args = [like_pattern(query.search)] * 2
    way = "DESC" if query.descending else "ASC"
    key = {
        "name": f"name COLLATE NOCASE {way}",
        "date": f"ingested_at {way}",
        # unknown sizes (older stores) last either way, in the order of an index
        "size": "size IS NOT NULL DESC, size DESC" if query.descending else "size IS NULL, size",
    }[query.sort]
    return where, f"{key}, source {way}", args


def select_page(rows: Iterable[DocumentRow], query: DocumentQuery) -> tuple[list[DocumentRow], int]:
    """`page_sql` in Python: (the page's rows, how many match)."""
    needle = query.search.casefold()
    found = [
        r
        for r in rows
        if not needle or needle in file_name(r.source).casefold() or needle in r.title.casefold()
    ]

    def key(r: DocumentRow) -> tuple[object, ...]:
        if query.sort == "date":
            return (r.ingested_at, r.source)
        if query.sort == "size":  # unknown sizes last, whichever the direction
            unknown = r.size is None
            return (unknown != query.descending, r.size or 0, r.source)
        return (file_name(r.source).casefold(), r.source)

    found.sort(key=key, reverse=query.descending)
    return found[query.offset : query.offset + query.limit], len(found)
