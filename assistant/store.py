"""The document store: Chroma collections of chunks with their embeddings.

One collection per name (e.g. one per team); each records the embedding model that built
it, so a query with another model is a clear error instead of silent nonsense. Separate
collections, not a metadata filter, keep queries fast (a `where` filter costs ~25x).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import InvalidArgumentError, NotFoundError

from assistant.embeddings import Embedder
from assistant.errors import AssistantError, EmbedderMismatch

Metadata = dict[str, str | int | float | bool]
EMBED_BATCH = 64


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


class Store:
    def __init__(self, path: Path, embedder: Embedder, default_collection: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self.embedder = embedder
        self.default_collection = default_collection
        self._revisions: dict[str, int] = {}
        self._lock = threading.Lock()

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
        name = collection or self.default_collection
        if name in self.collections():
            self._client.delete_collection(name)
        self._bump(name)

    def revision(self, collection: str | None = None) -> tuple[int, int]:
        """Changes whenever the collection does: lets callers cache derived indexes (BM25)."""
        name = collection or self.default_collection
        return self._revisions.get(name, 0), self.count(name)

    def _bump(self, name: str | None) -> None:
        name = name or self.default_collection
        self._revisions[name] = self._revisions.get(name, 0) + 1

    # --- writing -----------------------------------------------------------------------
    def add(self, chunks: Sequence[Chunk], collection: str | None = None) -> int:
        """Embed and write chunks. Ids are content-derived, so a repeat is a no-op upsert."""
        col = self._collection(collection)
        limit = min(self._client.get_max_batch_size(), EMBED_BATCH)
        with self._lock:
            for start in range(0, len(chunks), limit):
                batch = chunks[start : start + limit]
                col.upsert(
                    ids=[c.id for c in batch],
                    documents=[c.text for c in batch],
                    metadatas=[c.metadata for c in batch],
                    embeddings=self.embedder.embed([c.text for c in batch]),
                )
            self._bump(collection)
        return len(chunks)

    def delete_document(
        self, source: str, collection: str | None = None, *, keep_hash: str | None = None
    ) -> int:
        """Delete a document's chunks; with keep_hash, only those of its other versions."""
        col = self._collection(collection)
        where: dict[str, Any] = {"source": source}
        if keep_hash is not None:
            where = {"$and": [where, {"doc_hash": {"$ne": keep_hash}}]}
        ids = col.get(where=where, include=[])["ids"]
        if ids:
            with self._lock:
                col.delete(ids=ids)
                self._bump(collection)
        return len(ids)

    # --- reading -----------------------------------------------------------------------
    def count(self, collection: str | None = None) -> int:
        return int(self._collection(collection).count())

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
        for got in self._pages(collection, ["documents", "metadatas"]):
            for id_, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield Chunk(id=id_, text=text or "", metadata=dict(meta or {}))

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        docs: dict[str, dict[str, Any]] = {}
        metadatas = (m for got in self._pages(collection, ["metadatas"]) for m in got["metadatas"])
        for m in metadatas:
            doc = docs.setdefault(
                str(m.get("source", "?")),
                {
                    "title": str(m.get("title", "")),
                    "doc_hash": str(m.get("doc_hash", "")),
                    "ingested_at": str(m.get("ingested_at", "")),
                    "chunks": 0,
                },
            )
            doc["chunks"] += 1
        return [DocumentInfo(source=s, **d) for s, d in sorted(docs.items())]

    def search(
        self, embedding: Sequence[float], k: int, collection: str | None = None
    ) -> list[Hit]:
        col = self._collection(collection)
        n = min(k, col.count())
        if n == 0:
            return []
        got = col.query(
            query_embeddings=np.asarray([embedding], dtype=np.float32),
            n_results=n,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(Chunk(id_, text or "", dict(meta or {})), similarity=1.0 - float(dist))
            for id_, text, meta, dist in zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
        ]

    def get_with_embeddings(
        self, ids: Sequence[str], collection: str | None = None
    ) -> list[tuple[Chunk, list[float]]]:
        if not ids:
            return []
        got = self._collection(collection).get(
            ids=list(ids), include=["documents", "metadatas", "embeddings"]
        )
        return [
            (Chunk(i, t or "", dict(m or {})), list(e))
            for i, t, m, e in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        ]
