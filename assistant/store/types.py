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
    size: int | None = None  # the file's bytes; None: not known (ingested by an older version)
    ingested_by: str = ""  # a user's name, "cli:<os user>" for the command line, "": unknown


@dataclass(frozen=True)
class DocumentPage:
    """One page of a collection's documents (`Store.document_page`)."""

    documents: list[DocumentInfo]
    total: int  # documents matching the search, on every page
    offset: int
    limit: int


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    embedder: str
    documents: int | None  # None: built by another embedder
    chunks: int | None


@dataclass(frozen=True)
class KeywordMatch:
    """One collection's keyword ranking of a question (`Store.keyword_match`)."""

    ids: list[str]  # active chunk ids, best first by BM25
    weights: dict[str, float]  # idf of each query term (a term no chunk holds: the highest)
    held: dict[str, frozenset[str]]  # of those ids, the query terms each holds
