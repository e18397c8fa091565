"""The document store: Chroma collections of chunks with their embeddings, and a manifest
of which version of each document is active (`assistant/manifest.py`).

One collection per name (e.g. one per team); each records the embedding model that built
it, so a query with another model is a clear error instead of silent nonsense. Separate
collections, not a metadata filter, keep queries fast (a `where` filter costs ~25x).

Documents are replaced all-or-nothing (see `DocumentWriter` and the manifest): readers
(search, chunks for BM25, documents) see only chunks of each source's active version.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import InvalidArgumentError, NotFoundError

from assistant.embeddings import Embedder
from assistant.errors import AssistantError, EmbedderMismatch
from assistant.manifest import DocumentRow, Intent, Manifest

Metadata = dict[str, str | int | float | bool]
EMBED_BATCH = 128  # chunks embedded and written per Chroma call, across documents


@dataclass(frozen=True)
class Chunk:
    """A piece of a document. Metadata keys: source, title, anchor, doc_hash, chunk_index,
    ingested_at (set by the ingest side; the store only relies on source and doc_hash)."""

    id: str
    text: str
    metadata: Metadata


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    similarity: float  # cosine similarity to the query, -1..1


@dataclass(frozen=True)
class DocumentInfo:
    source: str
    title: str
    doc_hash: str
    chunks: int
    ingested_at: str


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    embedder: str
    documents: int | None  # None: built by another embedder
    chunks: int | None


class Store:
    def __init__(self, path: Path, embedder: Embedder, default_collection: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self.path = path
        self.embedder = embedder
        self.default_collection = default_collection
        self._manifest = Manifest(path / "manifest.sqlite3")
        self._revisions: dict[str, int] = {}
        self._active_cache: dict[str, tuple[int, dict[str, str]]] = {}
        self._lock = threading.RLock()

    # --- collections -------------------------------------------------------------------
    def _collection(self, name: str | None, create: bool = True) -> Any:
        name = name or self.default_collection
        try:
            if create:
                col = self._client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    metadata={"embedder": self.embedder.name},
                    configuration={"hnsw": {"space": "cosine"}},
                )
            else:
                col = self._client.get_collection(name, embedding_function=None)
        except NotFoundError as exc:
            raise AssistantError(f"no collection named '{name}'") from exc
        except (ValueError, InvalidArgumentError) as exc:
            raise AssistantError(f"bad collection name '{name}': {exc}") from exc
        built_with = (col.metadata or {}).get("embedder")
        if built_with != self.embedder.name:
            raise EmbedderMismatch(
                f"collection '{name}' was built with embedder '{built_with}', but the configured"
                f" embedder is '{self.embedder.name}': set ASSISTANT_EMBEDDER back, or re-index"
                f" with `assistant ingest --rebuild --collection {name} PATH...`"
            )
        return col

    def collections(self) -> list[str]:
        return sorted(c.name for c in self._client.list_collections())

    def drop(self, collection: str | None = None) -> None:
        """Delete a collection: its documents leave the manifest first (so a kill half-way
        leaves an empty collection whose leftover chunks `repair` deletes), then Chroma's."""
        name = collection or self.default_collection
        if self._manifest.known(name):
            self._manifest.flip(name, [], [d.source for d in self._manifest.documents(name)])
        if name in self.collections():
            self._client.delete_collection(name)
        self._manifest.forget(name)
        self._bump(name)

    def revision(self, collection: str | None = None) -> tuple[int, int]:
        """Changes whenever the collection does, in this process or another (the manifest's
        generation): lets callers cache derived indexes (BM25)."""
        name = collection or self.default_collection
        return self._revisions.get(name, 0), self._manifest.generation(name)

    def _bump(self, name: str | None) -> None:
        name = name or self.default_collection
        self._revisions[name] = self._revisions.get(name, 0) + 1

    # --- writing -----------------------------------------------------------------------
    def writer(self, collection: str | None = None, **kwargs: Any) -> DocumentWriter:
        """Write whole documents atomically, batching chunks across documents; see
        `DocumentWriter`. Use as a context manager (leaving it commits what is complete)."""
        name = collection or self.default_collection
        self._tracked(name)
        return DocumentWriter(self, name, **kwargs)

    def add(self, chunks: Sequence[Chunk], collection: str | None = None) -> int:
        """Write chunks as whole documents: each (source, doc_hash) group becomes the
        active version of its source, replacing any other. Ids are content-derived, so a
        repeat is a no-op upsert."""
        groups: dict[tuple[str, str], list[Chunk]] = {}
        for c in chunks:
            key = (str(c.metadata.get("source", "")), str(c.metadata.get("doc_hash", "")))
            groups.setdefault(key, []).append(c)
        with self.writer(collection) as w:
            for (source, doc_hash), group in groups.items():
                w.begin(source, doc_hash, str(group[0].metadata.get("title", "")))
                for c in group:
                    w.add(c)
                w.end(source)
        return len(chunks)

    def remove(self, sources: Sequence[str], collection: str | None = None) -> int:
        """Remove documents: the manifest row goes first (atomically), then the chunks."""
        name = collection or self.default_collection
        self._tracked(name)
        lock = _lock_collection(self.path, name)
        try:
            return self._remove(name, sources)
        finally:
            lock.close()

    def _remove(self, name: str, sources: Sequence[str]) -> int:
        active = self._manifest.active(name)
        intents = [Intent(s, None, active[s]) for s in sources if s in active]
        if not intents:
            return 0
        self._manifest.intend(name, intents)
        _crash_point("remove-intent")
        self._manifest.flip(name, [], [i.source for i in intents])
        _crash_point("remove-flip")
        col = self._collection(name)
        with self._lock:
            for i in intents:
                assert i.old_hash is not None
                self._delete_version(col, i.source, i.old_hash)
            self._bump(name)
        self._manifest.done(name, intents)
        return len(intents)

    def delete_document(self, source: str, collection: str | None = None) -> int:
        """Remove one document; returns 1 if it was stored, else 0."""
        return self.remove([source], collection)

    def repair(self, collection: str | None = None, *, full: bool = False) -> int:
        """Delete chunks no active document owns (left by a crash); returns how many.

        Cheap by default: finishes the intents a killed run left behind, and scans every
        chunk only when Chroma holds more chunks than the manifest accounts for.
        """
        name = collection or self.default_collection
        self._tracked(name)
        lock = _lock_collection(self.path, name)
        try:
            return self._repair(name, full=full)
        finally:
            lock.close()

    def _repair(self, name: str, *, full: bool = False) -> int:
        col = self._collection(name)
        deleted = 0
        intents = self._manifest.pending(name)
        active = self._manifest.active(name)
        with self._lock:
            for i in intents:
                for version in (i.new_hash, i.old_hash):
                    if version is not None and active.get(i.source) != version:
                        deleted += self._delete_version(col, i.source, version)
        if intents:
            self._manifest.done(name, intents)
        if full or col.count() != self._manifest.chunk_total(name):
            orphans = [
                id_
                for got in self._pages(name, ["metadatas"])
                for id_, m in zip(got["ids"], got["metadatas"], strict=True)
                if not _owned(m, active)
            ]
            with self._lock:
                for start in range(0, len(orphans), 1000):
                    col.delete(ids=orphans[start : start + 1000])
            deleted += len(orphans)
        if deleted:
            self._bump(name)
        return deleted

    @staticmethod
    def _delete_version(col: Any, source: str, doc_hash: str) -> int:
        where = {"$and": [{"source": source}, {"doc_hash": doc_hash}]}
        ids = col.get(where=where, include=[])["ids"]
        if ids:
            col.delete(ids=ids)
        return len(ids)

    # --- the manifest ------------------------------------------------------------------
    def _tracked(self, name: str) -> None:
        """Make sure the manifest tracks the collection; a store written before the
        manifest existed is adopted from its chunks' metadata, so nothing stored is lost."""
        if self._manifest.known(name):
            return
        with self._lock:
            if self._manifest.known(name):
                return
            versions: dict[tuple[str, str], list[Any]] = {}
            for got in self._pages(name, ["metadatas"]):
                for m in got["metadatas"]:
                    m = m or {}
                    if "source" not in m or "doc_hash" not in m:
                        continue
                    key = (str(m["source"]), str(m["doc_hash"]))
                    v = versions.setdefault(key, [0, str(m.get("title", "")), ""])
                    v[0] += 1
                    v[2] = max(v[2], str(m.get("ingested_at", "")))
            best: dict[str, DocumentRow] = {}
            for (source, doc_hash), (chunks, title, at) in versions.items():
                row = DocumentRow(source, doc_hash, title, chunks, at)
                old = best.get(source)
                if old is None or (at, chunks) > (old.ingested_at, old.chunks):
                    best[source] = row
            self._manifest.adopt(name, best.values())

    def _active(self, name: str) -> dict[str, str]:
        """source -> active doc_hash, cached until the manifest's generation changes."""
        self._tracked(name)
        generation = self._manifest.generation(name)
        cached = self._active_cache.get(name)
        if cached is None or cached[0] != generation:
            cached = (generation, self._manifest.active(name))
            self._active_cache[name] = cached
        return cached[1]

    # --- reading: only chunks of active versions are visible ------------------------
    def count(self, collection: str | None = None) -> int:
        """Chunks of the active documents (orphans a crash left behind are not counted)."""
        name = collection or self.default_collection
        self._tracked(name)
        return self._manifest.chunk_total(name)

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        name = collection or self.default_collection
        self._tracked(name)
        return [DocumentInfo(**r.__dict__) for r in self._manifest.documents(name)]

    def collection_stats(self) -> list[CollectionInfo]:
        """Every collection with its documents and chunks (None when built by another
        embedder: it cannot be opened with this one)."""
        out = []
        for col in self._client.list_collections():
            built_with = str((col.metadata or {}).get("embedder"))
            if built_with == self.embedder.name:
                self._tracked(col.name)
                docs, chunks = self._manifest.collections().get(col.name, (0, 0))
                out.append(CollectionInfo(col.name, built_with, docs, chunks))
            else:
                out.append(CollectionInfo(col.name, built_with, None, None))
        return sorted(out, key=lambda c: c.name)

    def _pages(self, collection: str | None, include: list[str], page: int = 1000) -> Iterator[Any]:
        """Everything in a collection, paged so a large one never sits in one response."""
        col = self._collection(collection)
        offset = 0
        while True:
            got = col.get(include=include, limit=page, offset=offset)
            yield got
            if len(got["ids"]) < page:
                return
            offset += page

    def chunks(self, collection: str | None = None) -> Iterator[Chunk]:
        name = collection or self.default_collection
        active = self._active(name)
        for got in self._pages(name, ["documents", "metadatas"]):
            for id_, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                if _owned(meta, active):
                    yield Chunk(id=id_, text=text or "", metadata=dict(meta or {}))

    def search(
        self, embedding: Sequence[float], k: int, collection: str | None = None
    ) -> list[Hit]:
        """The k nearest active chunks: over-fetch a little and drop chunks of inactive
        versions in Python (a Chroma `where` filter costs ~25x per query)."""
        name = collection or self.default_collection
        active = self._active(name)
        col = self._collection(name)
        total = col.count()
        n = min(total, k + max(4, k // 4))
        query = np.asarray([embedding], dtype=np.float32)
        while n > 0:
            got = col.query(
                query_embeddings=query,
                n_results=n,
                include=["documents", "metadatas", "distances"],
            )
            hits = [
                Hit(Chunk(id_, text or "", dict(meta or {})), similarity=1.0 - float(dist))
                for id_, text, meta, dist in zip(
                    got["ids"][0],
                    got["documents"][0],
                    got["metadatas"][0],
                    got["distances"][0],
                    strict=True,
                )
                if _owned(meta, active)
            ]
            if len(hits) >= k or n >= total:
                return hits[:k]
            n = min(total, n * 4)
        return []

    def get_with_embeddings(
        self, ids: Sequence[str], collection: str | None = None
    ) -> list[tuple[Chunk, list[float]]]:
        if not ids:
            return []
        name = collection or self.default_collection
        active = self._active(name)
        got = self._collection(name).get(
            ids=list(ids), include=["documents", "metadatas", "embeddings"]
        )
        return [
            (Chunk(i, t or "", dict(m or {})), list(e))
            for i, t, m, e in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
            if _owned(m, active)
        ]


def _owned(meta: Any, active: dict[str, str]) -> bool:
    """Whether a chunk belongs to the active version of its document."""
    return bool(meta) and active.get(str(meta.get("source"))) == meta.get("doc_hash")


def _crash_point(event: str) -> None:
    """Test hook: `ASSISTANT_TEST_CRASH_AFTER=EVENT[:N]` SIGKILLs this process the Nth time
    (default 1st) EVENT happens, so tests can prove a kill at that moment loses nothing.
    Events: intent, batch, flip, delete-old, remove-intent, remove-flip. Unset: a no-op."""
    spec = os.environ.get("ASSISTANT_TEST_CRASH_AFTER")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != event:
        return
    _CRASH_COUNTS[event] = _CRASH_COUNTS.get(event, 0) + 1
    if _CRASH_COUNTS[event] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


_CRASH_COUNTS: dict[str, int] = {}


@dataclass
class _Pending:
    source: str
    doc_hash: str
    title: str
    old_hash: str | None
    chunks: int = 0  # added so far
    unflushed: int = 0  # of those, still in the buffer
    ended: bool = False
    intended: bool = False


class DocumentWriter:
    """Writes documents so each becomes visible whole or not at all, batching chunks
    across documents so many small files embed as efficiently as one big one.

    begin(source, doc_hash, title); add(chunk) ...; end(source) -- or abort(source) when
    reading the file failed half-way. A document is committed (its manifest row flipped,
    its old version deleted, `on_commit(source, chunks, replaced)` called) once all its
    chunks are written. Holding a writer locks the collection against other writers, in
    this or any other process; the lock dies with the process.
    """

    def __init__(
        self,
        store: Store,
        collection: str,
        *,
        batch: int = EMBED_BATCH,
        on_commit: Callable[[str, int, bool], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        self.collection = collection
        self._batch = min(batch, store._client.get_max_batch_size())
        self._on_commit = on_commit
        self._on_batch = on_batch
        self._lockfile = _lock_collection(store.path, collection)
        store._repair(collection)  # finish whatever a killed run left behind
        self._col = store._collection(collection)
        self._active = store._manifest.active(collection)
        self._buffer: list[tuple[_Pending, Chunk]] = []
        self._docs: dict[str, _Pending] = {}

    def __enter__(self) -> DocumentWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()

    def close(self) -> None:
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None

    def active_hash(self, source: str) -> str | None:
        return self._active.get(source)

    def remove(self, sources: Sequence[str]) -> int:
        """Remove documents from the collection (under this writer's lock)."""
        removed = self._store._remove(self.collection, sources)
        for s in sources:
            self._active.pop(s, None)
        return removed

    def begin(self, source: str, doc_hash: str, title: str) -> None:
        if source in self._docs:
            raise ValueError(f"{source} is already being written")
        self._docs[source] = _Pending(source, doc_hash, title, self._active.get(source))

    def add(self, chunk: Chunk) -> None:
        doc = self._docs[str(chunk.metadata["source"])]
        doc.chunks += 1
        doc.unflushed += 1
        self._buffer.append((doc, chunk))
        if len(self._buffer) >= self._batch:
            self._flush_buffer()

    def end(self, source: str) -> None:
        self._docs[source].ended = True
        self._commit_ready()

    def abort(self, source: str) -> None:
        """Forget a document half-written: the chunks already in Chroma are deleted, the
        active version (if any) stays as it was."""
        doc = self._docs.pop(source)
        self._buffer = [(d, c) for d, c in self._buffer if d is not doc]
        if doc.intended:
            with self._store._lock:
                self._store._delete_version(self._col, source, doc.doc_hash)
            intent = Intent(source, doc.doc_hash, doc.old_hash)
            self._store._manifest.done(self.collection, [intent])

    def flush(self) -> None:
        """Write everything buffered and commit every ended document."""
        self._flush_buffer()
        self._commit_ready()

    def _flush_buffer(self) -> None:
        if not self._buffer:
            return
        fresh = {id(d): d for d, _ in self._buffer if not d.intended}
        if fresh:
            intents = [Intent(d.source, d.doc_hash, d.old_hash) for d in fresh.values()]
            self._store._manifest.intend(self.collection, intents)
            for d in fresh.values():
                d.intended = True
            _crash_point("intent")
        chunks = [c for _, c in self._buffer]
        texts = [c.text for c in chunks]
        embeddings = self._store.embedder.embed(texts)
        with self._store._lock:
            self._col.upsert(
                ids=[c.id for c in chunks],
                documents=texts,
                metadatas=[c.metadata for c in chunks],
                embeddings=embeddings,
            )
        for d, _ in self._buffer:
            d.unflushed -= 1
        self._buffer = []
        _crash_point("batch")
        if self._on_batch:
            self._on_batch(len(chunks))
        self._commit_ready()

    def _commit_ready(self) -> None:
        ready = [d for d in self._docs.values() if d.ended and d.unflushed == 0]
        if not ready:
            return
        empty = [d for d in ready if d.chunks == 0]
        for d in empty:  # nothing written: nothing to commit, the old version stays
            self._docs.pop(d.source)
        ready = [d for d in ready if d.chunks > 0]
        if not ready:
            return
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [DocumentRow(d.source, d.doc_hash, d.title, d.chunks, now) for d in ready]
        self._store._manifest.flip(self.collection, rows, [])
        _crash_point("flip")
        with self._store._lock:
            for d in ready:
                if d.old_hash is not None and d.old_hash != d.doc_hash:
                    self._store._delete_version(self._col, d.source, d.old_hash)
                    _crash_point("delete-old")
            self._store._bump(self.collection)
        self._store._manifest.done(
            self.collection, [Intent(d.source, d.doc_hash, d.old_hash) for d in ready]
        )
        for d in ready:
            self._docs.pop(d.source)
            self._active[d.source] = d.doc_hash
            if self._on_commit:
                self._on_commit(d.source, d.chunks, d.old_hash is not None)


def _lock_collection(path: Path, collection: str) -> Any:
    """An exclusive lock on one collection, held for a writer's life (flock: the kernel
    drops it when the process dies, even by SIGKILL)."""
    locks = path / "locks"
    locks.mkdir(exist_ok=True)
    digest = hashlib.sha256(collection.encode()).hexdigest()[:16]
    handle = open(locks / f"{digest}.lock", "w")  # noqa: SIM115  (held until close())
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise AssistantError(
            f"another ingest into collection '{collection}' is running; wait for it to finish"
        ) from exc
    return handle
