"""One page of a collection's documents: paging, search, sorts, bounds, and what the
manifest records (size, uploader, title) for each document."""

from __future__ import annotations

import getpass
import sqlite3
from contextvars import copy_context
from pathlib import PurePath

import pytest
from support.documents import fill_collection, generated_row

from assistant.audit import acting_as
from assistant.store import Chunk, DocumentQuery
from assistant.store.listing import MAX_PAGE_SIZE, select_page
from assistant.store.manifest import DocumentRow, Manifest

N = 230  # four full pages of 50 and a last one of 30


@pytest.fixture
def store(fresh):
    fill_collection(fresh.store, "dept", N)
    return fresh.store


def sources(page) -> list[str]:
    return [d.source for d in page.documents]


def test_pages_cover_every_document_once_and_the_last_page_is_short(store):
    seen = []
    for offset in range(0, N, 50):
        page = store.document_page("dept", DocumentQuery(offset=offset))
        assert page.total == N and page.offset == offset and page.limit == 50
        seen += sources(page)
    assert len(seen) == N == len(set(seen))
    last = store.document_page("dept", DocumentQuery(offset=200))
    assert len(last.documents) == 30
    past = store.document_page("dept", DocumentQuery(offset=N))
    assert past.documents == [] and past.total == N


def test_out_of_bounds_queries_are_clamped_not_obeyed(store):
    huge = store.document_page("dept", DocumentQuery(limit=10**9))
    assert huge.limit == MAX_PAGE_SIZE and len(huge.documents) == N  # N < the clamp
    negative = store.document_page("dept", DocumentQuery(offset=-5, limit=0))
    assert (negative.offset, negative.limit, len(negative.documents)) == (0, 1, 1)
    long = store.document_page("dept", DocumentQuery(search="report " * 2000))
    assert long.total == 0  # cut to 200 characters, matches nothing, no error
    odd = store.document_page("dept", DocumentQuery(sort="colour"))  # type: ignore[arg-type]
    assert sources(odd) == sources(store.document_page("dept", DocumentQuery()))


@pytest.mark.parametrize("sort", ["name", "date", "size"])
@pytest.mark.parametrize("descending", [False, True])
def test_every_sort_orders_the_whole_collection(store, sort, descending):
    rows = [DocumentRow(**d.__dict__) for d in store.documents("dept")]
    got = []
    for offset in range(0, N, 50):
        q = DocumentQuery(sort=sort, descending=descending, offset=offset)
        got += sources(store.document_page("dept", q))
    key = {
        "name": lambda r: PurePath(r.source).name.lower(),
        "date": lambda r: r.ingested_at,
        "size": lambda r: r.size,
    }[sort]
    values = [key(r) for r in sorted(rows, key=lambda r: got.index(r.source))]
    assert values == sorted(values, reverse=descending)
    assert values != sorted(values, reverse=not descending)  # the direction is real


def test_search_matches_file_names_and_titles_case_insensitively(store):
    by_title = store.document_page("dept", DocumentQuery(search="PAYROLL report", limit=500))
    assert by_title.total == len([i for i in range(N) if i % 7 == 2])
    assert all("Payroll" in d.title for d in by_title.documents)
    by_name = store.document_page("dept", DocumentQuery(search="report-0012"))
    expected = [PurePath(generated_row(i).source).name for i in range(120, 130)]
    assert [PurePath(s).name for s in sources(by_name)] == expected
    folder = store.document_page("dept", DocumentQuery(search="dept"))
    assert folder.total == 0  # the folder is not the file name


def test_search_takes_percent_underscore_and_backslash_literally(fresh):
    store = fresh.store
    names = ["100%_done.txt", "1000 done.txt", "a_b.md", "axb.md", "back\\slash.txt", "plain.txt"]
    store.add(
        [
            Chunk(f"c{i}", "text", {"source": f"/d/{n}", "doc_hash": f"h{i}", "title": "T"})
            for i, n in enumerate(names)
        ]
    )

    def found(search: str) -> list[str]:
        page = store.document_page(None, DocumentQuery(search=search))
        return [PurePath(s).name for s in sources(page)]

    assert found("%") == ["100%_done.txt"]
    assert found("0%_") == ["100%_done.txt"]
    assert found("a_b") == ["a_b.md"]
    assert found("_") == ["100%_done.txt", "a_b.md"]
    assert found("\\") == ["back\\slash.txt"]
    assert found("axb") == ["axb.md"]


@pytest.mark.parametrize("sort", ["name", "date", "size"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("search", ["", "Leave", "9.p", "_"])
def test_the_sql_query_and_the_chroma_server_rule_agree(tmp_path, sort, descending, search):
    """The Chroma-server manifest pages in Python (`select_page`): the same documents in
    the same order as the SQL, unknown sizes included."""
    rows = [generated_row(i) for i in range(120)]
    rows += [
        DocumentRow(f"/old/legacy-{i}.txt", f"o{i}", "Leave of old", 2, "2024-01-01")
        for i in range(5)
    ]
    manifest = Manifest(tmp_path / "m.sqlite3")
    manifest.adopt("c", rows)
    for offset in (0, 50, 100):
        q = DocumentQuery(search, sort, descending, 50, offset)
        assert manifest.page("c", q) == select_page(rows, q)


def test_the_writer_records_size_uploader_and_the_title_the_chunks_carry(fresh):
    store = fresh.store

    def upload() -> None:
        acting_as("alice", "192.0.2.1")
        chunk = Chunk(
            "u1",
            "t",
            {"source": "/up/a.pdf", "doc_hash": "h", "title": "Derived", "file_bytes": 4321},
        )
        with store.writer() as w:
            w.begin("/up/a.pdf", "h", "a")  # the stem, as the indexer knew it before reading
            w.add(chunk)
            w.end("/up/a.pdf")

    copy_context().run(upload)
    store.add([Chunk("c1", "t", {"source": "/cli/b.txt", "doc_hash": "h2", "title": "B"})])
    docs = {d.source: d for d in store.documents()}
    assert (docs["/up/a.pdf"].size, docs["/up/a.pdf"].ingested_by) == (4321, "alice")
    assert docs["/up/a.pdf"].title == "Derived"
    assert docs["/cli/b.txt"].size is None
    assert docs["/cli/b.txt"].ingested_by == f"cli:{getpass.getuser()}"


def test_a_manifest_written_before_these_columns_is_migrated_on_open(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE collections (name TEXT PRIMARY KEY, generation INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE documents (collection TEXT NOT NULL, source TEXT NOT NULL,"
        " doc_hash TEXT NOT NULL, title TEXT NOT NULL, chunks INTEGER NOT NULL,"
        " ingested_at TEXT NOT NULL, PRIMARY KEY (collection, source));"
        "INSERT INTO collections VALUES ('c', 3);"
        "INSERT INTO documents VALUES ('c', '/x/Zeta.txt', 'h1', 'Z', 2, '2024-01-01');"
        "INSERT INTO documents VALUES ('c', '/y/alpha.md', 'h2', 'A', 1, '2024-02-01');"
    )
    db.commit()
    db.close()
    manifest = Manifest(path)
    rows, total = manifest.page("c", DocumentQuery(sort="name"))
    assert total == 2 and [r.source for r in rows] == ["/y/alpha.md", "/x/Zeta.txt"]
    assert all(r.size is None and r.ingested_by == "" for r in rows)  # unknown, not invented
    assert manifest.generation("c") == 3  # nothing else touched
    rows, _ = manifest.page("c", DocumentQuery(search="zeta"))
    assert [r.title for r in rows] == ["Z"]


@pytest.mark.slow
def test_a_chroma_server_store_pages_like_the_embedded_one(tmp_path, fresh):
    """With a Chroma server the manifest is records in the server; the same pages come
    back as from the embedded store's SQL (unknown sizes survive the round trip)."""
    from support.chroma import ChromaProcess
    from support.paths import make_settings

    from assistant.factory import Components

    old = [
        DocumentRow(f"/old/legacy-{i}.txt", f"o{i}", "Leave of old", 2, "2024-01-01")
        for i in range(4)
    ]
    server = ChromaProcess(tmp_path / "server").start()
    try:
        remote = Components(make_settings(tmp_path / "replica", chroma_url=server.url)).store
        for store in (remote, fresh.store):
            fill_collection(store, "dept", 120)
            store._manifest.adopt("dept", old)
        for q in [
            DocumentQuery(),
            DocumentQuery(offset=100),
            DocumentQuery(search="leave", sort="size", descending=True, limit=20, offset=5),
            DocumentQuery(sort="size"),
            DocumentQuery(sort="date", descending=True, offset=50),
        ]:
            assert remote.document_page("dept", q) == fresh.store.document_page("dept", q)
    finally:
        server.stop()
