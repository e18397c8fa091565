"""The persistent keyword index (embedded store): BM25 on disk, versions, scope, repair."""

import pytest
from support.bm25 import BM25Index
from support.keywords import TEXTS, chunks, search

from assistant.store import Store
from assistant.store.words import tokenize, words


def test_rare_exact_terms_rank_first_and_match_the_in_memory_bm25(fresh):
    store = fresh.store
    written = chunks(TEXTS)
    store.add(written)
    assert search(store, "405B") == [written[1].id]
    assert search(store, "banana") == []
    memory = BM25Index(written)
    for q in ["open models", "Russian army 1812", "weights licence", "Llama 3 Groq days"]:
        assert search(store, q, 3) == memory.top(q, 3), q


def test_the_index_says_which_question_terms_each_chunk_holds(fresh):
    """The relevance gate's keyword coverage reads this instead of tokenizing chunk texts,
    for the keyword hits and for any other chunk asked about (the vector candidates)."""
    store = fresh.store
    written = chunks(TEXTS)
    store.add(written)
    terms = sorted(set(tokenize("open weights licence for the 405B model")))
    expected = {c.id: frozenset(tokenize(c.text)) & set(terms) for c in written}
    found = store.keyword_match(terms, 10)
    assert found.ids and {i: expected[i] for i in found.ids} == found.held
    assert store.keyword_terms([c.id for c in written], terms) == expected
    store.add(chunks(TEXTS[:1], doc_hash="h2"))  # a new version: the old rows are not active
    assert store.keyword_terms([written[0].id, "no-such-chunk"], terms) == {}


def test_a_new_version_replaces_the_old_one_in_the_keyword_index(fresh):
    store = fresh.store
    store.add(chunks(["The travel policy covers trains."], doc_hash="v1"))
    store.add(chunks(["The travel policy covers flights."], doc_hash="v2"))
    assert search(store, "trains") == []
    [hit] = search(store, "flights")
    assert hit.startswith("v2-")
    assert store.keywords is not None
    assert store.keywords.versions("documents") == {("/d/a.txt", "v2"): 1}  # old rows gone
    store.delete_document("/d/a.txt")
    assert search(store, "flights") == [] and store.keywords.versions("documents") == {}


def test_the_index_is_on_disk_and_another_store_reads_it_without_rebuilding(fresh):
    store = fresh.store
    store.add(chunks(TEXTS))
    reopened = Store(fresh.settings.chroma_dir, store.embedder, "documents")
    assert reopened.keywords is not None and reopened.keywords.ready("documents")
    reopened._collection = None  # type: ignore[assignment]  # proves Chroma is not read
    assert search(reopened, "retreated") == [chunks(TEXTS)[5].id]


def test_collections_have_their_own_index_and_statistics(fresh):
    store = fresh.store
    store.add(chunks(["Zorblax is the secret project."], source="/s.txt"), "secret")
    store.add(chunks(TEXTS), "public")
    assert search(store, "zorblax", collection="public") == []
    assert len(search(store, "zorblax", collection="secret")) == 1
    assert store.keywords is not None
    weights = store.keyword_match(["open"], 1, "public").weights
    assert weights != store.keyword_match(["open"], 1, "secret").weights  # df, N per collection


def test_a_user_never_gets_a_keyword_hit_from_a_collection_they_cannot_read(fresh):
    store, retriever = fresh.store, fresh.retriever
    store.add(chunks(["Zorblax budget: 4.2 million for the zorblax launch."], "/s.txt"), "secret")
    store.add(chunks(TEXTS), "public")
    question = "What is the zorblax budget?"
    allowed = retriever.retrieve_many(question, ["public"]).hits
    assert all(h.chunk.metadata["collection"] == "public" for h in allowed)
    assert not any("Zorblax" in h.chunk.text for h in allowed)
    # the control: whoever may read it does get it, by keyword coverage
    [hit] = retriever.retrieve_many(question, ["secret"]).hits
    assert "Zorblax" in hit.chunk.text


def test_repair_rebuilds_a_damaged_index_and_drops_stale_rows(fresh):
    store = fresh.store
    written = chunks(TEXTS)
    store.add(written)
    assert store.keywords is not None
    store.keywords.delete_version("documents", "/d/a.txt", "h1")  # active rows lost
    store.keywords.add("documents", chunks(["stale trains"], doc_hash="gone"))  # orphan rows
    assert search(store, "405B") == []
    store.repair()
    assert search(store, "405B") == [written[1].id]
    assert store.keywords.versions("documents") == {("/d/a.txt", "h1"): len(TEXTS)}


def test_a_store_without_a_keyword_index_gets_one_built_on_first_use(fresh):
    store = fresh.store
    store.add(chunks(TEXTS))
    assert store.keywords is not None
    store.keywords.drop("documents")  # as a store written before the index existed
    assert search(store, "405B") == [chunks(TEXTS)[1].id]
    assert store.keywords.ready("documents")


def test_threads_read_on_their_own_connections_which_go_with_the_thread(fresh):
    """Each thread reads through its own connection (so collections are searched at once);
    a web server's workers come and go, and the connections of ended ones are closed."""
    import threading

    store = fresh.store
    store.add(chunks(TEXTS))
    db = store.keywords._db  # type: ignore[union-attr]
    found: list[list[str]] = []
    for _ in range(20):  # one after the other: each a new thread, the last one's ended
        thread = threading.Thread(target=lambda: found.append(search(store, "retreated")))
        thread.start()
        thread.join()
    assert found == [[chunks(TEXTS)[5].id]] * 20
    assert len(db._readers) <= 2  # the last thread's, and perhaps this one's
    store.add(chunks(["Quetzalcoatl flew over the meeting."], source="/q.txt"))
    assert len(search(store, "quetzalcoatl")) == 1  # a reader sees what was just written


def test_cached_top_postings_never_hide_another_stores_writes(fresh):
    """A store keeps each term's top postings parsed between questions; a write by another
    store on the same files (another process) gives the collection a new generation, so the
    next question reads the term again instead of a list that lacks the new chunk."""
    store = fresh.store
    store.add(chunks(["Zorblax is the secret project."], source="/a.txt"))
    other = Store(fresh.settings.chroma_dir, store.embedder, "documents")
    assert len(search(store, "zorblax")) == 1  # cached by this store
    other.add(chunks(["Zorblax ships in May."], source="/b.txt"))
    assert len(search(store, "zorblax")) == 2
    other.delete_document("/a.txt")
    other.add(chunks(["Zorblax was renamed."], source="/c.txt"))
    found = search(store, "zorblax")
    assert len(found) == 2 and all("/a.txt" not in i for i in found)


def test_an_index_written_before_generations_existed_is_read_and_gains_them(fresh):
    import sqlite3

    store = fresh.store
    store.add(chunks(TEXTS))
    path = fresh.settings.chroma_dir / "manifest.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE keyword_collections DROP COLUMN generation")
    reopened = Store(fresh.settings.chroma_dir, store.embedder, "documents")
    assert search(reopened, "405B") == [chunks(TEXTS)[1].id]
    reopened.add(chunks(["The 405B model is large."], source="/b.txt"))
    assert len(search(reopened, "405B")) == 2


def test_a_word_in_any_form_finds_the_others(fresh):
    """Terms are stemmed (irregular past forms first): "Who leads FAIR?" finds "Led by"."""
    store = fresh.store
    written = chunks(["FAIR (Fundamental AI Research): Led by Yann LeCun.", *TEXTS])
    store.add(written)
    for question in ["Who leads FAIR?", "leading FAIR", "who led fair"]:
        assert search(store, question, 1) == [written[0].id], question
    assert search(store, "model releases", 1) == [written[1].id]  # "Meta released ... models"
    assert tokenize("The models released") == tokenize("a model releases")


@pytest.mark.parametrize("first", ["search", "write"])
def test_an_index_an_earlier_analyzer_made_is_rebuilt_before_it_is_read_or_written(
    fresh, monkeypatch, first
):
    """An index from before stemming holds "led", never "lead"; the analyzer it records
    ('' then) tells a newer version to rebuild it from Chroma, whether its first use is a
    search or an ingest (which would otherwise mix stemmed and plain terms)."""
    import assistant.store.keywords as keywords

    store = fresh.store
    led = chunks(["FAIR (Fundamental AI Research): Led by Yann LeCun."])
    with monkeypatch.context() as before:  # the version before stemming
        before.setattr(keywords, "tokenize", words)
        before.setattr(keywords, "ANALYZER", "")
        store.add(led)
    reopened = Store(fresh.settings.chroma_dir, store.embedder, "documents")
    assert reopened.keywords is not None and not reopened.keywords.ready("documents")
    expected = [led[0].id]
    if first == "write":
        more = chunks(["GenAI is led by Ahmad Al-Dahle."], source="/d/b.txt")
        reopened.add(more)
        expected.append(more[0].id)
    assert sorted(search(reopened, "Who leads?")) == sorted(expected)
    assert reopened.keywords.ready("documents") and reopened.keywords.count("documents") == len(
        expected
    )


def test_serve_rebuilds_an_outdated_keyword_index_before_anyone_asks(fresh, monkeypatch, capsys):
    import assistant.store.keywords as keywords
    from assistant.cli.wiring import refresh_keyword_indexes
    from assistant.factory import Components

    with monkeypatch.context() as before:
        before.setattr(keywords, "tokenize", words)
        before.setattr(keywords, "ANALYZER", "")
        fresh.store.add(chunks(TEXTS))
        fresh.store.add(chunks(TEXTS[:2], source="/s.txt"), "secret")
    parts = Components(fresh.settings)
    assert parts.store.keywords is not None
    refresh_keyword_indexes(parts)
    said = capsys.readouterr().err
    assert "Keyword index of 'documents'" in said and "Keyword index of 'secret'" in said
    assert parts.store.keywords.ready("documents") and parts.store.keywords.ready("secret")
    assert parts.store.keywords.count("documents") == len(TEXTS)
    refresh_keyword_indexes(parts)  # nothing left to do: says nothing
    assert capsys.readouterr().err == ""


def test_warm_keyword_reads_are_one_statement_each_and_never_stale(fresh):
    """A question's keyword search, and the look-up of which of its terms more chunks hold
    (the vector candidates), are one statement each once this process keeps the terms' ids
    and top postings for the collection's state; the statement reads the state beside the
    rows. When another store rebuilt the index meanwhile, giving the terms new ids, both
    read them again instead of using what was kept."""
    import threading

    store = fresh.store
    written = chunks(TEXTS)
    store.add(written)
    terms = sorted(set(tokenize("open weights licence for the 405B model")))
    expected = {c.id: frozenset(tokenize(c.text)) & set(terms) for c in written}
    assert store.keywords is not None
    first = store.keyword_match(terms, 3)  # reads the terms and their top postings
    statements: list[str] = []
    store.keywords._db._readers[threading.current_thread()].set_trace_callback(  # type: ignore[attr-defined]
        statements.append
    )
    assert store.keyword_match(terms, 3) == first
    assert store.keyword_terms([c.id for c in written], terms) == expected
    assert len(statements) == 2  # not even a BEGIN and COMMIT around them

    other = Store(fresh.settings.chroma_dir, store.embedder, "documents").keywords
    assert other is not None
    other.drop("documents")
    other.build("documents", written[3:])  # these texts' terms get the first ids now
    other.add("documents", written[:3])
    statements.clear()
    assert store.keyword_terms([c.id for c in written], terms) == expected
    assert store.keyword_match(terms, 3) == first
    assert len(statements) > 2  # the new state: its terms read again


def test_candidates_rank_alike_whether_seqs_are_dense_or_sparse():
    """Candidates' scores are summed in an array indexed by seq while seqs are small, and by
    sorting them beyond (an index rewritten for years): the ranking is the plain one, the
    best summed idf x impact first, ties to the lower seq, either way."""
    from collections import Counter

    import numpy as np

    from assistant.store.keywords import SEQS_SUMMED, _candidates

    rng = np.random.default_rng(3)
    tops = {
        w: (rng.choice(5000, 800, replace=False).astype(np.int64), rng.integers(1, 4, 800))
        for w in (1, 2, 3)
    }
    weights = {1: 2.0, 2: 1.0, 3: 0.5}  # few distinct scores: many ties
    summed: Counter[int] = Counter()
    for w, (seqs, impacts) in tops.items():
        for seq, impact in zip(seqs.tolist(), impacts.tolist(), strict=True):
            summed[seq] += weights[w] * impact
    plain = sorted(summed, key=lambda seq: (-summed[seq], seq))
    far = {w: (seqs + SEQS_SUMMED, impacts) for w, (seqs, impacts) in tops.items()}
    for n in (1, 10, 100, 3000):
        assert _candidates(tops, weights, n) == plain[:n]
        assert _candidates(far, weights, n) == [s + SEQS_SUMMED for s in plain[:n]]
