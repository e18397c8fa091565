"""The document store: Chroma collections of chunks, with a manifest of active versions.

store.py reads and manages collections; writer.py writes whole documents atomically;
manifest.py is the SQLite record of which version of each document is active (listing.py:
one page of it, searched and sorted in SQL); with a
Chroma server (server.py), chroma_manifest.py keeps that record in the server instead.
"""

from assistant.store.listing import PAGE_SIZE, DocumentQuery
from assistant.store.store import Store
from assistant.store.types import (
    Chunk,
    CollectionInfo,
    DocumentInfo,
    DocumentPage,
    Hit,
    KeywordMatch,
    Metadata,
)
from assistant.store.writer import DocumentWriter

__all__ = [
    "PAGE_SIZE",
    "Chunk",
    "CollectionInfo",
    "DocumentInfo",
    "DocumentPage",
    "DocumentQuery",
    "DocumentWriter",
    "Hit",
    "KeywordMatch",
    "Metadata",
    "Store",
]
