"""The Chroma store: idempotent writes, batches, versions replaced, embedder recorded."""

import pytest
from support.embedder import Recording

from assistant.errors import AssistantError, EmbedderMismatch
from assistant.store import Chunk, Store


def chunk(i: int, source: str = "/docs/a.txt", doc_hash: str = "h1") -> Chunk:
    return Chunk(
        id=f"{doc_hash}-{i}",
        text=f"Chunk number {i} about open weights.",
        metadata={"source": source, "doc_hash": doc_hash, "title": "A", "anchor": f"line {i}"},
    )


def test_writing_the_same_chunks_twice_adds_nothing(fresh):
    store = fresh.store
    store.add([chunk(i) for i in range(3)])
    store.add([chunk(i) for i in range(3)])
    assert store.count() == 3


def test_more_chunks_than_one_batch_are_all_written(fresh):
    store = fresh.store
    batches = []
    with store.writer(batch=8, on_batch=batches.append) as w:
        w.begin("/docs/a.txt", "h1", "A")
        for i in range(20):
            w.add(chunk(i))
        w.end("/docs/a.txt")
        assert store.count() == 0  # not visible until every chunk is written
    assert batches == [8, 8, 4] and store.count() == 20
    [doc] = store.documents()
    assert (doc.source, doc.chunks, doc.doc_hash) == ("/docs/a.txt", 20, "h1")


def test_a_second_writer_on_the_same_collection_is_refused(fresh):
    with fresh.store.writer(), pytest.raises(AssistantError, match="another ingest"):
        fresh.store.writer()


def test_a_new_version_replaces_the_old_one_whole(fresh):
    store = fresh.store
    store.add([chunk(i, doc_hash="old") for i in range(2)] + [chunk(9, source="/docs/b.txt")])
    store.add([chunk(i, doc_hash="new") for i in range(3)])
    assert {(d.source, d.doc_hash, d.chunks) for d in store.documents()} == {
        ("/docs/a.txt", "new", 3),
        ("/docs/b.txt", "h1", 1),
    }
    assert store.count() == 4 and store._collection(None).count() == 4  # old chunks deleted
    assert store.delete_document("/docs/a.txt") == 1
    assert [d.source for d in store.documents()] == ["/docs/b.txt"]
    assert store._collection(None).count() == 1


def test_chunks_of_an_inactive_version_are_invisible_and_repaired(fresh):
    """What a kill between writing new chunks and flipping the manifest leaves behind."""
    store = fresh.store
    store.add([chunk(i) for i in range(3)])
    orphans = [chunk(i, doc_hash="half-written") for i in range(2)]
    store._collection(None).add(
        ids=[c.id for c in orphans],
        documents=[c.text for c in orphans],
        metadatas=[c.metadata for c in orphans],
        embeddings=store.embedder.embed([c.text for c in orphans]),
    )
    vector = store.embedder.embed([orphans[0].text])[0]
    assert {h.chunk.metadata["doc_hash"] for h in store.search(vector, k=5)} == {"h1"}
    assert {c.metadata["doc_hash"] for c in store.chunks()} == {"h1"}
    assert store.count() == 3 and [d.chunks for d in store.documents()] == [3]
    assert store.repair() == 2  # Chroma holds more than the manifest accounts for
    assert store._collection(None).count() == 3


def test_a_store_from_before_the_manifest_is_adopted_from_chunk_metadata(fresh):
    store = fresh.store
    old = [chunk(i, doc_hash="v1") for i in range(2)] + [chunk(5, doc_hash="v2")]
    old = [
        Chunk(c.id, c.text, {**c.metadata, "ingested_at": at})
        for c, at in zip(old, ["2024-01-01", "2024-01-01", "2025-01-01"], strict=True)
    ]
    store._collection(None).add(
        ids=[c.id for c in old],
        documents=[c.text for c in old],
        metadatas=[c.metadata for c in old],
        embeddings=store.embedder.embed([c.text for c in old]),
    )
    store._manifest.forget("documents")  # as if the manifest had never existed
    reopened = Store(fresh.settings.chroma_dir, store.embedder, "documents")
    [doc] = reopened.documents()
    assert (doc.doc_hash, doc.chunks) == ("v2", 1)  # the newest version wins
    assert reopened.repair() == 2


def test_texts_are_not_chroma_documents_and_older_stores_still_read(fresh):
    """Texts go in the metadata (Chroma full-text indexes its documents, which costs ~40 %
    of a write and which nothing uses); a store written before, texts as documents, reads
    the same through every path: search, all chunks, one document's chunks."""
    store = fresh.store
    store.add([chunk(i) for i in range(2)])
    raw = store._collection(None).get(include=["documents", "metadatas"])
    assert raw["documents"] == [None, None]
    assert sorted(m["text"] for m in raw["metadatas"]) == [chunk(i).text for i in range(2)]

    old = chunk(0, source="/docs/old.txt", doc_hash="o1")
    store._collection(None).add(
        ids=[old.id],
        documents=[old.text],
        metadatas=[old.metadata],
        embeddings=store.embedder.embed([old.text]),
    )
    store._manifest.forget("documents")  # adopted again, the old chunk with the rest
    reopened = Store(fresh.settings.chroma_dir, store.embedder, "documents")
    expected = {c.id: (c.text, c.metadata) for c in [chunk(0), chunk(1), old]}
    assert {c.id: (c.text, c.metadata) for c in reopened.chunks()} == expected
    [(got, _)] = reopened.read_document("/docs/old.txt")
    assert (got.text, got.metadata) == (old.text, old.metadata)
    hits = reopened.search(store.embedder.embed([old.text])[0], k=3)
    assert {h.chunk.id: (h.chunk.text, h.chunk.metadata) for h in hits} == expected


def test_search_returns_cosine_similarity(fresh):
    store = fresh.store
    store.add([chunk(1)])
    [hit] = store.search(store.embedder.embed([chunk(1).text])[0], k=5)
    assert hit.chunk.id == chunk(1).id
    assert hit.similarity == pytest.approx(1.0, abs=1e-3)


def test_collection_built_by_another_embedder_is_a_clear_error(fresh):
    fresh.store.add([chunk(1)])

    class OtherEmbedder:
        name = "onnx:some-other-model"

        def embed(self, texts):
            return [[0.0] * 384 for _ in texts]

    other = Store(fresh.settings.chroma_dir, OtherEmbedder(), "documents")
    with pytest.raises(EmbedderMismatch, match="re-index") as err:
        other.search([0.0] * 384, k=1)
    assert "onnx:all-MiniLM-L6-v2-int8" in str(err.value)
    assert fresh.store.count() == 1  # nothing was lost


def test_collections_are_separate(fresh):
    store = fresh.store
    store.add([chunk(1)], collection="team-hr")
    store.add([chunk(2)], collection="team-eng")
    assert store.collections() == ["team-eng", "team-hr"]
    assert [c.id for c in store.chunks("team-hr")] == [chunk(1).id]


def test_asking_a_collection_that_does_not_exist_is_an_error_not_a_new_collection(fresh):
    with pytest.raises(AssistantError, match="no collection named 'typo'"):
        fresh.store.search([0.0] * 384, k=1, collection="typo")
    assert "typo" not in fresh.store.collections()
    assert fresh.store.count() == 0  # the default collection may start empty


def vectors_by_text(store: Store, source: str) -> dict[str, list[float]]:
    return {c.text: v.tolist() for c, v in store.read_document(source, vectors=True)}


def test_a_new_version_takes_the_stored_vectors_of_its_unchanged_texts(fresh, monkeypatch):
    """What an edited file costs: only its changed chunks are embedded. The stored texts are
    read a page at a time (pages of 2 here), and a match whose stored chunk is gone by the
    time its batch is written is embedded after all."""
    store = fresh.store
    monkeypatch.setattr("assistant.store.store.PAGE", 2)
    store.add([chunk(i, doc_hash="old") for i in range(5)])
    before = vectors_by_text(store, "/docs/a.txt")
    recording = Recording(store.embedder)
    monkeypatch.setattr(store, "embedder", recording)
    committed = []

    edited = [chunk(i, doc_hash="new") for i in (0, 1, 2, 4)]
    edited.insert(3, Chunk("new-x", "A paragraph added in the edit.", edited[0].metadata))
    with store.writer(on_commit=lambda *args: committed.append(args)) as w:
        w.begin("/docs/a.txt", "new", "A")
        for c in edited:
            w.add(c)
        w.end("/docs/a.txt")
    assert recording.texts == ["A paragraph added in the edit."]
    assert committed == [("/docs/a.txt", 5, True, 4)]
    after = vectors_by_text(store, "/docs/a.txt")
    assert all(after[t] == v for t, v in before.items() if t in after)
    assert len(after) == 5 and store.count() == 5

    with store.writer(on_commit=lambda *args: committed.append(args)) as w:
        w.begin("/docs/a.txt", "newer", "A")
        w.add(chunk(0, doc_hash="newer"))  # matched to the stored chunk 0 of "new"
        w.remove(["/docs/a.txt"])  # ... which goes before the batch is written
        w.end("/docs/a.txt")
    assert recording.texts[1:] == [chunk(0).text] and committed[1][3] == 0
    assert [d.doc_hash for d in store.documents()] == ["newer"]


def test_held_says_which_documents_a_collection_holds(fresh):
    store = fresh.store
    store.add([chunk(0), chunk(1, source="/docs/b.txt")])
    store.add([chunk(2, source="/docs/c.txt")], collection="other")
    asked = ["/docs/a.txt", "/docs/c.txt", "/docs/missing.txt"]
    assert store.held(asked) == {"/docs/a.txt"}
    assert store.held(asked, "other") == {"/docs/c.txt"}
    store.remove(["/docs/a.txt"])
    assert store.held(asked) == set()
