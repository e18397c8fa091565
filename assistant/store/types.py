"""What the store holds and returns: chunks, search hits, documents, collections."""

from __future__ import annotations

from dataclasses import dataclass

Metadata = dict[str, str | int | float | bool]


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
