"""Find the chunks that answer a question: vector search and BM25 keywords, fused.

The keyword ranking comes from the store's persistent BM25 index (store/keywords.py): in
the embedded store's manifest file, or beside a Chroma server (which has no keyword ranking
of its own in 1.5: `Collection.search` is for distributed/hosted Chroma only) in
PostgreSQL or the replica's own SQLite file.

Vectors catch paraphrase ("licence" ~ "commercially permissive"); BM25 catches exact names
and numbers ("405B", "4chan") that a 384-dim MiniLM blurs. Reciprocal-rank fusion merges
the two rankings without having to calibrate their scores against each other. Cosine
similarity still gates the result, so an off-topic question retrieves nothing at all.

A user who may read several collections has them searched at once, in a small thread pool:
Chroma's query and SQLite's run outside the GIL, so the question waits for the slowest
collection rather than for their sum. The keyword searches start first, while the question
is being embedded. The vector query reads ids and distances only (reading metadata is most
of Chroma's cost). The relevance gate then decides most candidates before reading them:
similarity from the vector query, keyword coverage from the index (which terms each chunk
holds, not its text tokenized again); only those that may pass are read, and the gate stops
at the k-th that does.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass

import numpy as np

from assistant.settings import Settings
from assistant.store import Chunk, Hit, Store
from assistant.store.words import tokenize

RRF_K = 60  # the constant from Cormack et al.; dampens the weight of top ranks
CANDIDATES_PER_RESULT = 4
SEARCH_THREADS = 5  # collections one question searches at once (1: one after the other)
WARM_QUESTION = "What do these documents say about it?"  # any words: loading is the point


@dataclass
class _Keywords:
    """One question's keyword ranking in one collection: chunk ids best first, each query
    term's idf, and which terms each chunk holds (read from the index, not the text)."""

    ids: list[str]
    weights: dict[str, float]
    held: dict[str, frozenset[str]]  # active chunk id -> the query terms it holds
    look_up: Callable[[list[str]], dict[str, frozenset[str]]]  # more of `held`

    def learn(self, ids: Sequence[str]) -> None:
        """Look up the chunks not yet in `held` (one read); those still missing are not
        active (or not indexed): they hold no term."""
        missing = [i for i in ids if i not in self.held]
        if missing:
            self.held.update(self.look_up(missing))

    def coverage(self, chunk_id: str) -> float:
        return coverage(self.weights, self.held.get(chunk_id))


def coverage(weights: dict[str, float], held: frozenset[str] | None) -> float:
    """Share of the query's terms (`weights`: each one's idf) that a chunk holds, weighted
    by rarity (0..1; `held` None: a chunk not indexed, or not active).

    A chunk holding every rare word of the question ("Russian army 1812 retreated") is
    relevant even where a small embedding model scores it low; a chunk sharing one common
    word ("capital") with an off-topic question is not.
    """
    total = sum(weights.values())
    have = held or frozenset()
    return sum(w for t, w in weights.items() if t in have) / total if total else 0.0


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

    @classmethod
    def from_settings(
        cls, store: Store, s: Settings, *, threads: int = SEARCH_THREADS
    ) -> Retriever:
        return cls(
            store,
            top_k=s.top_k,
            min_similarity=s.min_similarity,
            min_keyword_coverage=s.min_keyword_coverage,
            hybrid=s.hybrid,
            threads=threads,
        )

    def _keywords(self, terms: list[str], n: int, collection: str) -> _Keywords | None:
        """The keyword ranking of the question's terms, from the store's index."""
        if not self.hybrid:
            return None
        found = self.store.keyword_match(terms, n, collection)  # first: may build it
        return _Keywords(
            found.ids,
            found.weights,
            dict(found.held),
            lambda ids: self.store.keyword_terms(ids, terms, collection),
        )

    def warm(self, collections: Sequence[str]) -> float:
        """Ask these collections one question and drop the answer; its seconds. A process's
        first question loads the question embedder and each collection's vector index
        (Chroma reads it from disk on its first query: 2.5 s for 5 collections of 20k
        chunks here), which a server does before it listens, not while its first user
        waits."""
        return self.retrieve_many(WARM_QUESTION, collections).seconds

    def retrieve(
        self, question: str, k: int | None = None, collection: str | None = None
    ) -> Retrieval:
        return self.retrieve_many(question, [collection or self.store.default_collection], k)

    def retrieve_many(
        self, question: str, collections: Sequence[str], k: int | None = None
    ) -> Retrieval:
        """The best k chunks over several collections (those a user may read): each is
        searched on its own, then the hits merge by cosine similarity, the one score
        that means the same in every collection (BM25's and RRF's do not).

        The keyword searches start before the question is embedded, and run while it is:
        they need only its words."""
        started = time.perf_counter()
        top = k or self.top_k
        if not collections:
            return Retrieval(hits=[], seconds=time.perf_counter() - started)
        terms = _terms(question)  # once per question, not per collection or candidate
        query: Future[np.ndarray] = Future()

        def search(name: str) -> list[Hit]:
            return self._ranked(terms, query, top, name)

        with self.store.one_read(collections):  # one state of the manifest, read at once
            pending = self._start(search, collections)
            try:
                vector = self.store.embedder.embed([question])[0]
                query.set_result(np.asarray(vector, dtype=np.float32))
            except BaseException as exc:
                query.set_exception(exc)  # the searches waiting for it end with it
                raise
            ranked = [f.result() if isinstance(f, Future) else search(f) for f in pending]
        hits = [h for found in ranked for h in found]  # in the order of `collections`
        if len(collections) > 1:
            hits.sort(key=lambda h: -h.similarity)
        return Retrieval(hits=hits[:top], seconds=time.perf_counter() - started)

    def _start(
        self, search: Callable[[str], list[Hit]], collections: Sequence[str]
    ) -> list[Future[list[Hit]] | str]:
        """`search` of every collection started in the pool, in their order; with no pool
        (threads=1), the names, searched one after the other once the question is embedded.
        An error in any of them is raised by `retrieve_many`, as it would be in turn."""
        if self.threads <= 1:
            return list(collections)
        with self._pool_lock:  # made on the first question that needs it
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="retrieve")
        # each in a copy of this context: the searches share the question's `one_read`
        return [self._pool.submit(copy_context().run, search, name) for name in collections]

    def _ranked(
        self, terms: list[str], query: Future[np.ndarray], k: int, collection: str
    ) -> list[Hit]:
        """Vector and BM25 rankings fused, past the relevance gate, each chunk tagged with
        its collection (sources name it; history and permissions rely on it)."""
        n = k * CANDIDATES_PER_RESULT
        keywords = self._keywords(terms, n, collection)  # before the vector is needed
        vector = query.result()
        while True:
            nearest = self.store.nearest(vector, n, collection)
            hits, inactive = self._gated(nearest, keywords, vector, k, collection)
            if len(hits) >= k or not inactive or len(nearest) < n:
                return [_tagged(h, collection) for h in hits]
            n *= 4  # chunks of other versions (a write under way) took places: look further

    def _gated(
        self,
        nearest: list[tuple[str, float]],
        keywords: _Keywords | None,
        vector: np.ndarray,
        k: int,
        collection: str,
    ) -> tuple[list[Hit], int]:
        """The first k candidates, in fused order, that are active and pass the relevance
        gate; and how many of the vector candidates were not active.

        Most candidates are decided before any is read from the store: a vector candidate
        by its similarity, any by its keyword coverage (from the index), and a keyword-only
        one by a bound: it is not among the nearest, so it is no nearer than the farthest
        of them (up to the vector index's approximation). Only those that may pass are
        read: up to the k-th sure to pass (`_first_window`), then the rest if need be."""
        similarity = dict(nearest)
        ordered = _fused([i for i, _ in nearest], keywords.ids if keywords else [])
        if keywords is not None:
            keywords.learn(ordered)
        bound = min(similarity.values(), default=-1.0)
        held = keywords.held if keywords is not None else {}

        def covered(chunk_id: str) -> bool:
            return keywords is not None and (
                keywords.coverage(chunk_id) >= self.min_keyword_coverage
            )

        def may_pass(chunk_id: str) -> bool:
            close = similarity.get(chunk_id, bound) >= self.min_similarity
            return close or covered(chunk_id)

        def sure(chunk_id: str) -> bool:  # active (the index holds it so), and passes
            known = similarity.get(chunk_id, -1.0) >= self.min_similarity
            return chunk_id in held and (known or covered(chunk_id))

        maybe = [i for i in ordered if may_pass(i)]
        # Of the vector candidates ruled out unread, those the keyword index does not hold
        # as active: chunks of a version being written, which took places among the nearest.
        # (Without keywords a chunk ruled out is below the similarity gate, and so is every
        # chunk further away: looking further could not find one that passes.)
        unread = set(similarity).difference(maybe)
        inactive = 0 if keywords is None else sum(1 for i in unread if i not in held)
        hits: list[Hit] = []
        first = _first_window(maybe, sure, k)
        for window in (maybe[:first], maybe[first:]):
            found = {c.id: (c, v) for c, v in self.store.get_with_embeddings(window, collection)}
            inactive += sum(1 for i in window if i in similarity and i not in found)
            for chunk, vec in (found[i] for i in window if i in found):
                score = similarity.get(chunk.id)
                hit = Hit(chunk, float(np.dot(vector, vec)) if score is None else score)
                if hit.similarity >= self.min_similarity or covered(chunk.id):
                    hits.append(hit)
            if len(hits) >= k:
                break
        return hits[:k], inactive


def _fused(*rankings: Sequence[str]) -> list[str]:
    """Reciprocal-rank fusion of rankings of ids: the ids, best first."""
    fused: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking):
            fused[chunk_id] += 1.0 / (RRF_K + rank + 1)
    return sorted(fused, key=lambda i: -fused[i])


def _first_window(maybe: list[str], sure: Callable[[str], bool], k: int) -> int:
    """How many candidates to read first: up to the k-th that is sure to pass, if the first
    2k hold k of them (the first k hits cannot lie beyond it); else the first 2k."""
    found = 0
    for n, chunk_id in enumerate(maybe[: 2 * k], start=1):
        found += sure(chunk_id)
        if found == k:
            return n
    return 2 * k


def _tagged(hit: Hit, collection: str) -> Hit:
    c = hit.chunk
    return Hit(Chunk(c.id, c.text, {**c.metadata, "collection": collection}), hit.similarity)
