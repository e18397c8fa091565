"""The Chroma store: idempotent writes, batches, versions replaced, embedder recorded."""

import pytest

from assistant.errors import EmbedderMismatch
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
    store.add([chunk(i) for i in range(70)])  # > the 64-chunk write batch
    assert store.count() == 70
    [doc] = store.documents()
    assert (doc.source, doc.chunks, doc.doc_hash) == ("/docs/a.txt", 70, "h1")


def test_delete_keeping_the_new_version_removes_only_the_old_one(fresh):
    store = fresh.store
    store.add([chunk(i, doc_hash="old") for i in range(2)] + [chunk(9, source="/docs/b.txt")])
    store.add([chunk(i, doc_hash="new") for i in range(3)])
    assert store.delete_document("/docs/a.txt", keep_hash="new") == 2
    assert {(d.source, d.doc_hash, d.chunks) for d in store.documents()} == {
        ("/docs/a.txt", "new", 3),
        ("/docs/b.txt", "h1", 1),
    }


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
