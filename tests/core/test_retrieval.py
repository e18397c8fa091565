"""Retrieval over the real seed corpus: the right document first, nothing for off-topic."""

from pathlib import Path

import pytest
from support.keywords import chunks

from assistant.retrieval import coverage
from assistant.store import Chunk
from assistant.store.words import tokenize

# (question, seed files that answer it). Each answer was checked by reading the seeds.
SEED_QUESTIONS = [
    ("What did the Russian army do in 1812 as it retreated?", "003_28e6aa56330e3488.txt"),
    ("Which operating system for VR headsets did Meta open-source?", "000_ff4f05a3c6834f76.txt"),
    ("How fast did Groq deploy Llama 3 after its announcement?", "000_ff4f05a3c6834f76.txt"),
    # 001: "FAIR ... Led by Yann LeCun"; 004: "hired Yann LeCun ... to run ... FAIR".
    ("What is FAIR and who leads it?", "001_5fec047b8f95376e.txt 004_9034c93824e74505.txt"),
    ("How many parameters does LLaMA 3.1's largest model have?", "004_9034c93824e74505.txt"),
    ("On what date did the LLaMA weights leak on 4chan?", "004_9034c93824e74505.txt"),
    ("How does releasing open-source models help Meta attract talent?", "002_1fe38c41840b6cd6.txt"),
    ("What share of Meta's revenue came from adverts in Q2 2024?", "003_28e6aa56330e3488.txt"),
]
OFF_TOPIC = [
    "What is the boiling point of tungsten in kelvin?",
    "Give me a recipe for banana bread.",
    "How do I change a flat bicycle tyre?",
]


@pytest.mark.parametrize(("question", "expected"), SEED_QUESTIONS)
def test_seed_question_retrieves_the_right_document_first(seeded, question, expected):
    hits = seeded.retriever.retrieve(question).hits
    assert hits, question
    assert Path(str(hits[0].chunk.metadata["source"])).name in expected.split()


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_question_retrieves_nothing(seeded, question):
    assert seeded.retriever.retrieve(question).hits == []


def test_an_off_topic_question_reads_no_chunk_from_the_store(seeded, monkeypatch):
    """Every candidate fails the gate on what is known before reading it (its similarity,
    or a bound on it, and its keyword coverage from the index), so none is read."""
    store = seeded.store
    read: list[str] = []
    get = store.get_with_embeddings

    def reading(ids, collection=None):
        read.extend(ids)
        return get(ids, collection)

    monkeypatch.setattr(store, "get_with_embeddings", reading)
    assert seeded.retriever.retrieve(OFF_TOPIC[0]).hits == []
    assert read == []
    assert seeded.retriever.retrieve(SEED_QUESTIONS[0][0]).hits  # the control: it does read
    assert read


def test_once_k_candidates_are_sure_to_pass_no_later_one_is_read(fresh, monkeypatch):
    """A candidate the keyword index holds as active, with the question's rare words, passes
    whatever its text: reading stops at the k-th such one (not at 2k, as it did)."""
    store = fresh.store
    texts = [f"Zorblax quarterly report number {i} lists office plants." for i in range(12)]
    store.add(
        [Chunk(f"z{i}", t, {"source": f"/z{i}.txt", "doc_hash": "h"}) for i, t in enumerate(texts)]
    )
    read: list[list[str]] = []
    get = store.get_with_embeddings

    def reading(ids, collection=None):
        read.append(list(ids))
        return get(ids, collection)

    monkeypatch.setattr(store, "get_with_embeddings", reading)
    hits = fresh.retriever.retrieve("Zorblax quarterly report?", k=3).hits
    assert len(hits) == 3 and read == [[h.chunk.id for h in hits]]


def test_results_are_capped_at_k_and_above_the_gate(seeded):
    hits = seeded.retriever.retrieve("Why is Meta giving Llama away for free?", k=3).hits
    assert 1 <= len(hits) <= 3
    assert all(h.similarity >= seeded.settings.min_similarity for h in hits)
    assert len({h.chunk.id for h in hits}) == len(hits)


def test_chunk_with_every_rare_question_word_counts_as_related(fresh):
    """Keyword coverage, from the store's index: the share of a question's terms a chunk
    holds, weighted by rarity."""
    a, b = chunks(
        [
            "In 1812 the Russian army retreated and burned the crops.",
            "Venture capital firms invest in foundation models.",
        ]
    )
    fresh.store.add([a, b])

    def covered(question: str, chunk: Chunk) -> float:
        terms = sorted(set(tokenize(question)))
        found = fresh.store.keyword_match(terms, 5)
        return coverage(found.weights, fresh.store.keyword_terms([chunk.id], terms).get(chunk.id))

    assert covered("What did the Russian army do in 1812 as it retreated?", a) == 1.0
    assert covered("What is the capital of France?", b) < 0.5
    assert covered("banana bread", a) == 0.0


def test_retrieval_looks_past_the_chunks_of_a_version_being_written(fresh):
    """A version still being written is in Chroma but not active: its chunks may fill the
    nearest places (vector query reads no metadata), and retrieval must look further."""
    from assistant.retrieval import Retriever

    store = fresh.store
    question = "Which license covers the Llama 2 weights?"
    meta = {"source": "/docs/licence.txt", "doc_hash": "live"}
    store.add([Chunk("live-0", "Llama 2 is released under the Llama 2 Community License.", meta)])
    pending = [
        Chunk(f"next-{i}", f"{question} (draft {i})", {"source": "/docs/next.txt", "doc_hash": "w"})
        for i in range(40)
    ]
    store._collection(None).add(  # written, never flipped: what a reader sees mid-ingest
        ids=[c.id for c in pending],
        documents=[c.text for c in pending],
        metadatas=[c.metadata for c in pending],
        embeddings=store.embedder.embed([c.text for c in pending]),
    )
    assert all(
        i.startswith("next-") for i, _ in store.nearest(store.embedder.embed([question])[0], 8)
    )
    vectors_only = Retriever(
        store, top_k=1, min_similarity=0.0, min_keyword_coverage=1.0, hybrid=False
    )
    [hit] = vectors_only.retrieve(question).hits
    assert hit.chunk.id == "live-0"


def test_serve_loads_every_collection_a_question_could_search_before_listening(fresh, capsys):
    """A process's first question loads each collection's vector index from disk (seconds
    at 100k chunks); `serve` asks every collection with chunks one question first, so no
    user waits for it. An empty collection has nothing to load and is left alone."""
    from support.keywords import TEXTS, chunks

    from assistant.cli.wiring import warm

    store = fresh.store
    store.add(chunks(TEXTS))
    store.add(chunks(TEXTS[:2], source="/s.txt"), "secret")
    store.add(chunks(TEXTS[:1], source="/e.txt"), "emptied")
    store.delete_document("/e.txt", "emptied")
    searched: list[str | None] = []
    nearest = store.nearest

    def recorded(vector, n, collection=None):  # type: ignore[no-untyped-def]
        searched.append(collection)
        return nearest(vector, n, collection)

    store.nearest = recorded  # type: ignore[method-assign]
    warm(fresh)
    assert sorted(searched) == ["documents", "secret"]
    assert "Loaded 2 collection(s) for questions in" in capsys.readouterr().err
