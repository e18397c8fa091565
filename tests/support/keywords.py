"""A small corpus and helpers for the keyword index tests (embedded and PostgreSQL)."""

from __future__ import annotations

from assistant.store import Chunk, Store
from assistant.store.words import tokenize

TEXTS = [
    "Meta released open models for everyone to download.",
    "The 405B model was trained at huge cost on many GPUs.",
    "Open models, open weights, open science and open data.",
    "The licence lets companies use the weights commercially.",
    "Groq served Llama 3 within days of the announcement.",
    "In 1812 the Russian army retreated and burned the crops.",
]


def chunks(texts: list[str], source: str = "/d/a.txt", doc_hash: str = "h1") -> list[Chunk]:
    return [
        Chunk(f"{doc_hash}-{source}-{i}", t, {"source": source, "doc_hash": doc_hash})
        for i, t in enumerate(texts)
    ]


def search(store: Store, question: str, n: int = 5, collection: str | None = None) -> list[str]:
    return store.keyword_search(tokenize(question), n, collection)
