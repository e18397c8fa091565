"""Several collections searched at once give exactly what searching them one after the
other gives: the same chunks, scores, order and collection tags, and the same errors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from support.paths import SEEDS, make_settings

from assistant.errors import AssistantError
from assistant.factory import Components
from assistant.retrieval import Retriever
from ingest.indexer import ingest_paths

QUESTIONS = [
    "What did the Russian army do in 1812 as it retreated?",
    "Which operating system for VR headsets did Meta open-source?",
    "How fast did Groq deploy Llama 3 after its announcement?",
    "What is FAIR and who leads it?",
    "Why is Meta giving Llama away for free?",
    "What is the boiling point of tungsten in kelvin?",  # off-topic: nothing anywhere
]


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> tuple[Components, list[str]]:
    """The five seed files, each in a collection of its own."""
    parts = Components(make_settings(tmp_path_factory.mktemp("teams")))
    s = parts.settings
    names = []
    for i, seed in enumerate(sorted(SEEDS.glob("*.txt"))):
        names.append(f"team-{i}")
        ingest_paths(
            [seed],
            parts.store,
            chunk_size=s.chunk_size,
            chunk_overlap=s.chunk_overlap,
            collection=names[-1],
        )
    return parts, names


def retriever(parts: Components, threads: int) -> Retriever:
    return Retriever.from_settings(parts.store, parts.settings, threads=threads)


def found(r: Retriever, question: str, names: list[str], k: int = 6) -> list[tuple[Any, ...]]:
    hits = r.retrieve_many(question, names, k=k).hits
    return [(h.chunk.id, h.similarity, h.chunk.metadata["collection"], h.chunk.text) for h in hits]


def test_concurrent_search_equals_one_after_the_other(teams) -> None:
    parts, names = teams
    one_by_one, at_once = retriever(parts, 1), retriever(parts, 5)
    spread = set()
    for question in QUESTIONS:
        expected = found(one_by_one, question, names)
        assert found(at_once, question, names) == expected, question
        backwards = names[::-1]
        assert found(at_once, question, backwards) == found(one_by_one, question, backwards)
        spread |= {row[2] for row in expected}
    assert len(spread) >= 3  # the answers really come from several collections
    assert found(at_once, QUESTIONS[-1], names) == []


def test_collections_are_really_searched_at_once(teams, monkeypatch) -> None:
    """Each collection's vector search waits until all of them have started: one after the
    other, the first would wait in vain (the barrier breaks after 30 s)."""
    parts, names = teams
    barrier = threading.Barrier(len(names), timeout=30)
    nearest: Callable[..., Any] = parts.store.nearest

    def waiting(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return nearest(*args, **kwargs)

    monkeypatch.setattr(parts.store, "nearest", waiting)
    hits = retriever(parts, len(names)).retrieve_many(QUESTIONS[0], names).hits
    assert hits and not barrier.broken


def test_an_unknown_collection_fails_the_same_way(teams) -> None:
    parts, names = teams
    errors = []
    for threads in (1, 5):
        with pytest.raises(AssistantError) as caught:
            retriever(parts, threads).retrieve_many(QUESTIONS[0], [*names, "nope"])
        errors.append(str(caught.value))
    assert errors[0] == errors[1] and "nope" in errors[0]


def test_keywords_are_searched_while_the_question_is_embedded(teams, monkeypatch) -> None:
    """The keyword search needs only the question's words, so it does not wait for its
    vector: embedding and keyword search meet at a barrier, which breaks (after 30 s)
    if one waits for the other."""
    parts, names = teams
    barrier = threading.Barrier(2, timeout=30)
    embed: Callable[..., Any] = parts.store.embedder.embed
    keyword_match: Callable[..., Any] = parts.store.keyword_match

    def embedding(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return embed(*args, **kwargs)

    def searching(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return keyword_match(*args, **kwargs)

    monkeypatch.setattr(parts.store.embedder, "embed", embedding)
    monkeypatch.setattr(parts.store, "keyword_match", searching)
    retriever(parts, 5).retrieve_many(QUESTIONS[0], names[:1])  # one after the other: it breaks
    assert not barrier.broken


def test_an_error_while_embedding_ends_the_searches_waiting_for_it(teams, monkeypatch) -> None:
    parts, names = teams

    def failing(texts: Any) -> Any:
        raise AssistantError("the embedder is gone")

    monkeypatch.setattr(parts.store.embedder, "embed", failing)
    r = retriever(parts, 5)
    with pytest.raises(AssistantError, match="embedder is gone"):
        r.retrieve_many(QUESTIONS[0], names)
    monkeypatch.undo()  # the pool's threads are free again: the next question is answered
    assert r.retrieve_many(QUESTIONS[1], names).hits
