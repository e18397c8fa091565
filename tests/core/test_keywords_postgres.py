"""Server mode with `database_url` on PostgreSQL: the replicas of one Chroma server share one
keyword index in PostgreSQL (a real `chroma run`, a real PostgreSQL on a Unix socket)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from support.chroma import ChromaProcess
from support.keywords import TEXTS, chunks, search
from support.paths import make_settings

from assistant.factory import Components
from assistant.health import Doctor
from assistant.store.keyword_db import PG_READERS, PostgresKeywordDb

pytestmark = pytest.mark.slow


def replica(tmp_path: Path, name: str, chroma: ChromaProcess, url: str) -> Components:
    return Components(make_settings(tmp_path / name, chroma_url=chroma.url, database_url=url))


def test_replicas_share_one_keyword_index_in_postgresql(tmp_path, chroma, postgres_url):
    a, b = (replica(tmp_path, n, chroma, postgres_url) for n in ("a", "b"))
    assert a.store.keywords is not None and b.store.keywords is not None
    assert isinstance(a.store.keywords._db, PostgresKeywordDb)
    written = chunks(TEXTS)
    a.store.add(written, "shared")
    assert b.store.keywords.ready("shared")  # written by a, nothing built by b
    assert search(b.store, "405B", collection="shared") == [written[1].id]
    models = {c.id for c in written[:3]}  # "models" and "model" are one term
    assert set(search(b.store, "model", collection="shared")) == models  # b caches it

    newer = chunks(["The 70B model replaced the older one in 2025."], doc_hash="h2")
    a.store.add(newer, "shared")  # a new version of the same source, through replica a
    assert search(b.store, "405B", collection="shared") == []
    assert search(b.store, "70B", collection="shared") == [newer[0].id]
    assert search(b.store, "model", collection="shared") == [newer[0].id]  # not b's cache
    assert b.store.keywords.versions("shared") == {("/d/a.txt", "h2"): 1}

    hits = b.retriever.retrieve(
        "When did the 70B model replace the older one?", collection="shared"
    )
    assert [h.chunk.id for h in hits.hits] == [newer[0].id]
    b.store.drop("shared")
    assert not a.store.keywords.ready("shared")


def test_reads_run_at_once_each_in_a_snapshot_of_its_own(postgres_url):
    """The collections a question searches, and several people's questions, read the index
    at once (not one after the other on one connection), each from a snapshot: a write that
    commits meanwhile is not half-seen, and the next read sees it."""
    db = PostgresKeywordDb(postgres_url)
    inside = threading.Barrier(PG_READERS, timeout=20)
    seen: list[object] = []

    def search() -> None:
        try:
            with db.read() as r:
                inside.wait()  # every reader is inside a read at the same moment
                seen.append(r.execute("SELECT 1").fetchone()[0])
        except Exception as exc:  # a reader left waiting for another breaks the barrier
            seen.append(exc)

    readers = [threading.Thread(target=search) for _ in range(PG_READERS)]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    assert seen == [1] * PG_READERS

    count = "SELECT COUNT(*) FROM keyword_collections"
    try:
        with db.read() as r:
            before = r.execute(count).fetchone()[0]
            with db.tx() as w:
                w.execute("INSERT INTO keyword_collections (collection) VALUES (?)", ("snap",))
            assert r.execute(count).fetchone()[0] == before
        with db.read() as r:
            assert r.execute(count).fetchone()[0] == before + 1
    finally:
        with db.tx() as w:
            w.execute("DELETE FROM keyword_collections WHERE collection = ?", ("snap",))
        db.close()


def test_an_index_an_earlier_version_wrote_gains_the_new_columns_and_is_rebuilt(postgres_url):
    """A registry from before `generation` and `analyzer` existed: opening adds both, and
    the index, whose terms were not stemmed then, counts as absent until it is rebuilt."""
    from assistant.store.keywords import KeywordIndex
    from assistant.store.words import tokenize

    written = chunks(TEXTS)
    index = KeywordIndex(PostgresKeywordDb(postgres_url))
    index.build("earlier", written)
    with index._db.tx() as w:
        w.execute("ALTER TABLE keyword_collections DROP COLUMN generation, DROP COLUMN analyzer")
    index.close()
    index = KeywordIndex(PostgresKeywordDb(postgres_url))
    try:
        assert not index.ready("earlier") and index.top("earlier", ["405b"], 5) is None
        assert index.build("earlier", written)
        found = index.top("earlier", tokenize("the 405B models"), 5)
        assert index.ready("earlier") and found and found.rows[0].chunk_id == written[1].id
    finally:
        index.drop("earlier")
        index.close()


def test_warm_keyword_reads_are_one_round_trip_each_and_never_stale(postgres_url, monkeypatch):
    """Once a replica keeps a question's terms (ids, top postings) for the collection's
    state, its keyword search and the rows of more chunks (the vector candidates) are one
    statement to the server each, not a transaction of four or five; after another replica
    rebuilt the index (new term ids), both read them again."""
    import psycopg

    from assistant.store.keywords import KeywordIndex
    from assistant.store.words import tokenize

    written = chunks(TEXTS)
    index, other = (KeywordIndex(PostgresKeywordDb(postgres_url)) for _ in range(2))
    terms = sorted(set(tokenize("open weights licence for the 405B model")))
    expected = [frozenset(tokenize(c.text)) & set(terms) for c in written]
    sent: list[str] = []
    real = psycopg.Connection.execute

    def counted(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(str(query))
        return real(self, query, *args, **kwargs)

    def held() -> list[frozenset[str]]:
        rows = {r.chunk_id: r.terms for r in index.rows("further", [c.id for c in written], terms)}
        return [rows[c.id] for c in written]

    try:
        index.build("further", written)
        first = index.top("further", terms, 3)
        assert first and first.rows
        monkeypatch.setattr(psycopg.Connection, "execute", counted)
        assert index.top("further", terms, 3) == first
        assert held() == expected and len(sent) == 2
        other.drop("further")
        other.build("further", written[3:])  # these texts' terms get the first ids now
        other.add("further", written[:3])
        sent.clear()
        assert held() == expected and index.top("further", terms, 3) == first
        assert len(sent) > 2
    finally:
        monkeypatch.undo()
        index.drop("further")
        index.close()
        other.close()


def test_doctor_says_the_replicas_share_the_keyword_index(tmp_path, chroma, postgres_url):
    settings = make_settings(tmp_path / "r", chroma_url=chroma.url, database_url=postgres_url)
    [store] = [c for c in Doctor(settings).store()]
    assert store.ok and "keyword index in PostgreSQL, shared by every replica" in store.detail
