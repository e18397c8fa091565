"""Server mode without PostgreSQL: the keyword index is a SQLite file in the data dir (a real
`chroma run`). Processes sharing the data dir (compose's assistant and ingest) share it;
a replica with a data dir of its own indexes, before it searches, what writers elsewhere
wrote to the server."""

from __future__ import annotations

import pytest
from support.chroma import served
from support.keywords import TEXTS, chunks, search

from assistant.store import Store, chroma_manifest
from assistant.store.keyword_db import SqliteKeywordDb

pytestmark = pytest.mark.slow


def documents_read(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources this store reads back from the server to index them (appended to)."""
    read: list[str] = []
    original = store.read_document

    def spy(source: str, *args: object, **kwargs: object) -> object:
        read.append(source)
        return original(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "read_document", spy)
    return read


def test_processes_sharing_a_data_dir_share_one_keyword_file(tmp_path, chroma, monkeypatch):
    ingest, assistant = served(tmp_path / "data", chroma.url), served(tmp_path / "data", chroma.url)
    db = assistant.store.keywords._db
    assert isinstance(db, SqliteKeywordDb)
    assert db._path == tmp_path / "data" / "chroma" / "keywords.sqlite3"
    read = documents_read(assistant.store, monkeypatch)
    written = chunks(TEXTS)
    ingest.store.add(written, "team")
    assert assistant.store.keywords.ready("team")  # written by the ingest, not built here
    assert search(assistant.store, "405B", collection="team") == [written[1].id]

    newer = chunks(["The 70B model replaced the older one in 2025."], doc_hash="h2")
    ingest.store.add(newer, "team")
    assert search(assistant.store, "405B", collection="team") == []
    assert search(assistant.store, "70B", collection="team") == [newer[0].id]
    assert read == []  # what the ingest indexed is not read back and indexed again
    assert assistant.store.keywords.versions("team") == {("/d/a.txt", "h2"): 1}


def test_a_replica_of_its_own_indexes_what_writers_elsewhere_wrote(tmp_path, chroma, monkeypatch):
    here, elsewhere = served(tmp_path / "here", chroma.url), served(tmp_path / "there", chroma.url)
    written = chunks(TEXTS)
    elsewhere.store.add(written, "team")
    assert search(here.store, "405B", collection="team") == [written[1].id]  # built from Chroma
    read = documents_read(here.store, monkeypatch)

    newer = chunks(["The 70B model replaced the older one in 2025."], doc_hash="h2")
    memo = chunks(["Quokka budget memo for INC-4821."], source="/d/memo.txt")
    elsewhere.store.add(newer + memo, "team")
    assert search(here.store, "70B", collection="team") == [newer[0].id]
    assert search(here.store, "INC-4821", collection="team") == [memo[0].id]
    assert search(here.store, "405B", collection="team") == []  # the old version: not active
    assert sorted(read) == ["/d/a.txt", "/d/memo.txt"]  # the changed documents only, once
    hits = here.retriever.retrieve("What replaced the older model?", collection="team").hits
    assert hits[0].chunk.id == newer[0].id

    # The replaced version's rows stay in this replica's file until a repair drops them.
    assert ("/d/a.txt", "h1") in here.store.keywords.versions("team")
    here.store.repair("team", full=True)
    assert set(here.store.keywords.versions("team")) == {("/d/a.txt", "h2"), ("/d/memo.txt", "h1")}


def test_a_replica_too_far_behind_compares_every_document(tmp_path, chroma, monkeypatch):
    """The server's list of recent changes keeps `MAX_RECENT` sources; a replica that last
    looked before the oldest of them compares every document with its index."""
    monkeypatch.setattr(chroma_manifest, "MAX_RECENT", 1)
    here, elsewhere = served(tmp_path / "here", chroma.url), served(tmp_path / "there", chroma.url)
    elsewhere.store.add(chunks(TEXTS), "team")
    assert search(here.store, "405B", collection="team")  # built, then looked at once
    assert search(here.store, "405B", collection="team")
    a = chunks(["Zanzibar travel rules."], source="/d/z.txt")
    b = chunks(["Quokka budget memo."], source="/d/q.txt")
    elsewhere.store.add(a, "team")
    elsewhere.store.add(b, "team")  # the list now names only /d/q.txt
    assert search(here.store, "zanzibar", collection="team") == [a[0].id]
    assert search(here.store, "quokka", collection="team") == [b[0].id]


def test_a_replicas_next_process_starts_where_the_last_one_left_off(tmp_path, chroma, monkeypatch):
    """Where a replica last caught up is kept in its keyword file, so its next process
    (`assistant ask`, a restarted `serve`) reads what changed since, not the record of
    every document (~0.8 s at 100k chunks)."""
    here, elsewhere = served(tmp_path / "here", chroma.url), served(tmp_path / "there", chroma.url)
    elsewhere.store.add(chunks(TEXTS), "team")
    assert search(here.store, "405B", collection="team")  # built from Chroma
    assert search(here.store, "405B", collection="team")  # a first look: every document
    memo = chunks(["Quokka budget memo for INC-4821."], source="/d/memo.txt")
    elsewhere.store.add(memo, "team")

    again = served(tmp_path / "here", chroma.url)  # the replica's next process
    read = documents_read(again.store, monkeypatch)
    whole: list[str] = []
    every = again.store._manifest.active
    monkeypatch.setattr(again.store._manifest, "active", lambda c: whole.append(c) or every(c))
    assert search(again.store, "INC-4821", collection="team") == [memo[0].id]
    assert read == ["/d/memo.txt"]
    assert whole == []  # no document's record but the changed one's was read
