"""Exact Okapi BM25 in memory: the reference the persistent keyword index
(assistant/store/keywords.py) is checked against. The product used it with a Chroma
server and no PostgreSQL until every store got an index on disk."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from assistant.retrieval import coverage
from assistant.store import Chunk
from assistant.store.words import tokenize


class BM25Index:
    """Okapi BM25 over an inverted index in memory: a query touches only the postings of its
    terms."""

    def __init__(self, chunks: Sequence[Chunk], k1: float = 1.5, b: float = 0.75) -> None:
        self.ids = [c.id for c in chunks]
        self._index = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        self._terms: list[frozenset[str]] = []
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.zeros(len(chunks), dtype=np.float32)
        for i, chunk in enumerate(chunks):
            terms = Counter(tokenize(chunk.text))
            self._terms.append(frozenset(terms))
            lengths[i] = sum(terms.values())
            for term, tf in terms.items():
                postings[term].append((i, tf))
        avg = float(lengths.mean()) if len(chunks) else 1.0
        self._norm = k1 * (1 - b + b * lengths / max(avg, 1.0))
        self._k1 = k1
        n = len(chunks)
        self._postings = {
            t: (np.array([d for d, _ in p]), np.array([f for _, f in p], dtype=np.float32))
            for t, p in postings.items()
        }
        self._idf = {
            t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()
        }
        self._unseen_idf = math.log(1 + (n + 0.5) / 0.5)  # a term no chunk contains

    def weights(self, terms: Sequence[str]) -> dict[str, float]:
        """idf of each term (a term no chunk contains: the highest)."""
        return {t: self._idf.get(t, self._unseen_idf) for t in terms}

    def coverage(self, query: str, chunk_id: str) -> float:
        """`coverage` of the chunk for a question (0 for a chunk not in the index)."""
        terms = sorted(set(tokenize(query)))
        return coverage(self.weights(terms), self.held([chunk_id], terms).get(chunk_id))

    def held(self, ids: Sequence[str], terms: Sequence[str]) -> dict[str, frozenset[str]]:
        """Of these chunk ids, those in the index, each with the terms it holds."""
        wanted = frozenset(terms)
        return {i: self._terms[self._index[i]] & wanted for i in ids if i in self._index}

    def top(self, query: str | Sequence[str], k: int) -> list[str]:
        """The k best chunk ids for a question, or for its terms already tokenized."""
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for term in set(tokenize(query) if isinstance(query, str) else query):
            if term not in self._postings:
                continue
            docs, tf = self._postings[term]
            scores[docs] += self._idf[term] * tf * (self._k1 + 1) / (tf + self._norm[docs])
        hits = np.flatnonzero(scores)
        best = hits[np.argsort(-scores[hits], kind="stable")][:k]
        return [self.ids[i] for i in best]
