"""Find the chunks that answer a question: vector search and BM25 keywords, fused.

The keyword ranking comes from the store's persistent index (embedded store, see
store/keywords.py); with a Chroma server, which has no keyword ranking of its own in 1.5
(`Collection.search` is for distributed/hosted Chroma only), from `BM25Index`, built in
this process's memory on the first query after a change.

Vectors catch paraphrase ("licence" ~ "commercially permissive"); BM25 catches exact names
and numbers ("405B", "4chan") that a 384-dim MiniLM blurs. Reciprocal-rank fusion merges
the two rankings without having to calibrate their scores against each other. Cosine
similarity still gates the result, so an off-topic question retrieves nothing at all.

A user who may read several collections has them searched at once, in a small thread pool:
Chroma's query and SQLite's run outside the GIL, so the question waits for the slowest
collection rather than for their sum.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from assistant.store import Chunk, Hit, Store
from assistant.store.keywords import tokenize

RRF_K = 60  # the constant from Cormack et al.; dampens the weight of top ranks
CANDIDATES_PER_RESULT = 4
SEARCH_THREADS = 5  # collections one question searches at once (1: one after the other)


class BM25Index:
    """Okapi BM25 over an inverted index in memory (server mode): a query touches only the
    postings of its terms."""

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
        """Share of the query's terms, weighted by rarity, that the chunk contains (0..1).

        A chunk holding every rare word of the question ("Russian army 1812 retreated") is
        relevant even where a small embedding model scores it low; a chunk sharing one
        common word ("capital") with an off-topic question is not.
        """
        terms = set(tokenize(query))
        if not terms or chunk_id not in self._index:
            return 0.0
        have = self._terms[self._index[chunk_id]]
        weights = {t: self._idf.get(t, self._unseen_idf) for t in terms}
        return sum(w for t, w in weights.items() if t in have) / sum(weights.values())

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


@dataclass(frozen=True)
class _Keywords:
    """One question's keyword ranking: chunk ids best first, and each query term's idf."""

    ids: list[str]
    weights: dict[str, float]

    def coverage(self, text: str) -> float:
        """Share of the query's terms, weighted by rarity, that the text contains (0..1).

        A chunk holding every rare word of the question ("Russian army 1812 retreated") is
        relevant even where a small embedding model scores it low; a chunk sharing one
        common word ("capital") with an off-topic question is not.
        """
        total = sum(self.weights.values())
        if not total:
            return 0.0
        have = set(tokenize(text))
        return sum(w for t, w in self.weights.items() if t in have) / total


def _terms(question: str) -> list[str]:
    """A question's distinct search terms, sorted: tokenized once per question."""
    return sorted(set(tokenize(question)))


@dataclass(frozen=True)
class Retrieval:
    hits: list[Hit]  # best first, all past the relevance gate
    seconds: float


class Retriever:
    def __init__(
        self,
        store: Store,
        *,
        top_k: int,
        min_similarity: float,
        min_keyword_coverage: float,
        hybrid: bool,
        threads: int = SEARCH_THREADS,
    ) -> None:
        self.store = store
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.top_k = top_k
        self.min_similarity = min_similarity
        self.min_keyword_coverage = min_keyword_coverage
        self.hybrid = hybrid
        self._bm25: dict[str, tuple[tuple[int, int], BM25Index]] = {}

    def _bm25_index(self, collection: str) -> BM25Index:
        revision = self.store.revision(collection)
        cached = self._bm25.get(collection)
        if cached is None or cached[0] != revision:
            cached = (revision, BM25Index(list(self.store.chunks(collection))))
            self._bm25[collection] = cached
        return cached[1]

    def _keywords(self, terms: list[str], n: int, collection: str) -> _Keywords | None:
        """The keyword ranking of the question's terms, from the store's index or in memory."""
        if not self.hybrid:
            return None
        if self.store.keywords is not None:
            ids = self.store.keyword_search(terms, n, collection)  # first: may build it
            return _Keywords(ids, self.store.keyword_weights(terms, collection))
        bm25 = self._bm25_index(collection)
        return _Keywords(bm25.top(terms, n), bm25.weights(terms))

    def retrieve(
        self, question: str, k: int | None = None, collection: str | None = None
    ) -> Retrieval:
        started = time.perf_counter()
        k = k or self.top_k
        collection = collection or self.store.default_collection
        query = np.asarray(self.store.embedder.embed([question])[0], dtype=np.float32)
        hits = self._ranked(_terms(question), query, k, collection)
        return Retrieval(hits=hits, seconds=time.perf_counter() - started)

    def retrieve_many(
        self, question: str, collections: Sequence[str], k: int | None = None
    ) -> Retrieval:
        """The best k chunks over several collections (those a user may read): each is
        searched on its own, then the hits merge by cosine similarity, the one score
        that means the same in every collection (BM25's and RRF's do not)."""
        started = time.perf_counter()
        k = k or self.top_k
        if not collections:
            return Retrieval(hits=[], seconds=time.perf_counter() - started)
        query = np.asarray(self.store.embedder.embed([question])[0], dtype=np.float32)
        terms = _terms(question)  # once per question, not per collection or candidate
        ranked = self._each(lambda name: self._ranked(terms, query, k, name), collections)
        hits = [h for found in ranked for h in found]  # in the order of `collections`
        if len(collections) > 1:
            hits.sort(key=lambda h: -h.similarity)
        return Retrieval(hits=hits[:k], seconds=time.perf_counter() - started)

    def _each(
        self, search: Callable[[str], list[Hit]], collections: Sequence[str]
    ) -> list[list[Hit]]:
        """`search` of every collection, in their order; concurrently when there are several.
        An error in any of them is raised here, as it would be one after the other."""
        if self.threads <= 1 or len(collections) <= 1:
            return [search(name) for name in collections]
        with self._pool_lock:  # made on the first question that needs it
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="retrieve")
        return list(self._pool.map(search, collections))

    def _ranked(self, terms: list[str], query: np.ndarray, k: int, collection: str) -> list[Hit]:
        """Vector and BM25 rankings fused, past the relevance gate, each chunk tagged with
        its collection (sources name it; history and permissions rely on it)."""
        n = k * CANDIDATES_PER_RESULT
        vector_hits = self.store.search(query, n, collection)
        rankings = [[h.chunk.id for h in vector_hits]]
        by_id = {h.chunk.id: h for h in vector_hits}
        keywords = self._keywords(terms, n, collection)
        if keywords is not None:
            rankings.append(keywords.ids)
            missing = [i for i in keywords.ids if i not in by_id]
            for chunk, vec in self.store.get_with_embeddings(missing, collection):
                by_id[chunk.id] = Hit(chunk, float(np.dot(query, vec)))
        fused: dict[str, float] = defaultdict(float)
        for ranking in rankings:
            for rank, chunk_id in enumerate(ranking):
                fused[chunk_id] += 1.0 / (RRF_K + rank + 1)
        ordered = sorted((i for i in fused if i in by_id), key=lambda i: -fused[i])

        def relevant(hit: Hit) -> bool:
            if hit.similarity >= self.min_similarity:
                return True
            return keywords is not None and (
                keywords.coverage(hit.chunk.text) >= self.min_keyword_coverage
            )

        hits = [by_id[i] for i in ordered if relevant(by_id[i])][:k]
        return [_tagged(h, collection) for h in hits]


def _tagged(hit: Hit, collection: str) -> Hit:
    c = hit.chunk
    return Hit(Chunk(c.id, c.text, {**c.metadata, "collection": collection}), hit.similarity)
