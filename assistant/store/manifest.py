"""Which version of each document is the active one: a small SQLite file beside Chroma.

Chroma has no transactions, so a document is replaced in three steps, each safe to die in:

1. record an intent (collection, source, new hash, old hash) and commit;
2. write the new version's chunks to Chroma (ids derived from source and content hash);
3. flip the `documents` row to the new hash in one transaction, then delete the old
   version's chunks and the intent.

Readers trust only chunks whose (source, doc_hash) is the active row, so at every moment a
document is either fully old or fully new, never half and never twice. A leftover intent
tells the next run exactly which chunks are orphans (`Store.repair`). Removing a document
is the same with no new version: the row goes first, the chunks after.

`generation` counts changes per collection, so a process can tell that another one (the
CLI ingesting while the web UI serves) changed a collection and rebuild what it derived
from it (the BM25 index).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.store.locks import lock_collection

SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    source TEXT NOT NULL,
    doc_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    PRIMARY KEY (collection, source)
);
CREATE TABLE IF NOT EXISTS pending (
    collection TEXT NOT NULL,
    source TEXT NOT NULL,
    new_hash TEXT,
    old_hash TEXT
);
CREATE INDEX IF NOT EXISTS pending_by_collection ON pending (collection);
"""


@dataclass(frozen=True)
class DocumentRow:
    source: str
    doc_hash: str
    title: str
    chunks: int
    ingested_at: str


@dataclass(frozen=True)
class Intent:
    source: str
    new_hash: str | None  # None: a removal
    old_hash: str | None  # None: a new document


class ManifestBackend(Protocol):
    """The manifest operations the store and its writer use (see the module docstring)."""

    def lock(self, collection: str) -> Any: ...
    def close(self) -> None: ...
    def known(self, collection: str) -> bool: ...
    def generation(self, collection: str) -> int: ...
    def adopt(self, collection: str, rows: Iterable[DocumentRow]) -> None: ...
    def forget(self, collection: str) -> None: ...
    def collections(self) -> dict[str, tuple[int, int]]: ...
    def documents(self, collection: str) -> list[DocumentRow]: ...
    def active(self, collection: str) -> dict[str, str]: ...
    def chunk_total(self, collection: str) -> int: ...
    def intend(self, collection: str, intents: Iterable[Intent]) -> None: ...
    def flip(
        self, collection: str, rows: Iterable[DocumentRow], removed: Iterable[str]
    ) -> None: ...
    def pending(self, collection: str) -> list[Intent]: ...
    def done(self, collection: str, intents: Iterable[Intent]) -> None: ...


class Manifest:
    """One SQLite file (WAL: readers never block the writer), safe across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable against process death
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def lock(self, collection: str) -> Any:
        """The writer lock of a collection: a flock beside the file, for this machine."""
        return lock_collection(self.path.parent, collection)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- collections -------------------------------------------------------------------
    def known(self, collection: str) -> bool:
        """Whether the manifest tracks the collection (else it predates the manifest)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM collections WHERE name = ?", (collection,)
            ).fetchone()
        return row is not None

    def generation(self, collection: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT generation FROM collections WHERE name = ?", (collection,)
            ).fetchone()
        return int(row[0]) if row else -1

    def adopt(self, collection: str, rows: Iterable[DocumentRow]) -> None:
        """Start tracking a collection with these active documents (migration, or empty)."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO collections (name) VALUES (?)", (collection,))
            db.executemany(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (collection, r.source, r.doc_hash, r.title, r.chunks, r.ingested_at)
                    for r in rows
                ],
            )
            self._bump(db, collection)

    def forget(self, collection: str) -> None:
        """Drop every row of a collection (its chunks must be deleted after this)."""
        with self._tx() as db:
            for table in ("documents", "pending"):
                db.execute(f"DELETE FROM {table} WHERE collection = ?", (collection,))
            db.execute("DELETE FROM collections WHERE name = ?", (collection,))

    def collections(self) -> dict[str, tuple[int, int]]:
        """name -> (documents, chunks) for every tracked collection."""
        with self._lock:
            got = self._db.execute(
                "SELECT c.name, COUNT(d.source), COALESCE(SUM(d.chunks), 0)"
                " FROM collections c LEFT JOIN documents d ON d.collection = c.name"
                " GROUP BY c.name"
            ).fetchall()
        return {name: (int(docs), int(chunks)) for name, docs, chunks in got}

    @staticmethod
    def _bump(db: sqlite3.Connection, collection: str) -> None:
        db.execute(
            "UPDATE collections SET generation = generation + 1 WHERE name = ?", (collection,)
        )

    # --- documents ---------------------------------------------------------------------
    def documents(self, collection: str) -> list[DocumentRow]:
        with self._lock:
            got = self._db.execute(
                "SELECT source, doc_hash, title, chunks, ingested_at FROM documents"
                " WHERE collection = ? ORDER BY source",
                (collection,),
            ).fetchall()
        return [DocumentRow(*row) for row in got]

    def active(self, collection: str) -> dict[str, str]:
        """source -> active doc_hash."""
        with self._lock:
            got = self._db.execute(
                "SELECT source, doc_hash FROM documents WHERE collection = ?", (collection,)
            ).fetchall()
        return dict(got)

    def active_of(self, collection: str, sources: Iterable[str]) -> dict[str, str]:
        """source -> active doc_hash for just these sources (a query's hits)."""
        wanted = sorted(set(sources))
        out: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(wanted), 900):
                part = wanted[start : start + 900]
                out.update(
                    self._db.execute(
                        "SELECT source, doc_hash FROM documents WHERE collection = ?"
                        f" AND source IN ({','.join('?' * len(part))})",
                        (collection, *part),
                    ).fetchall()
                )
        return out

    def chunk_total(self, collection: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(chunks), 0) FROM documents WHERE collection = ?",
                (collection,),
            ).fetchone()
        return int(row[0])

    # --- the replace protocol ----------------------------------------------------------
    def intend(self, collection: str, intents: Iterable[Intent]) -> None:
        """Step 1: record what is about to be written, before any chunk is."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO pending VALUES (?, ?, ?, ?)",
                [(collection, i.source, i.new_hash, i.old_hash) for i in intents],
            )

    def flip(self, collection: str, rows: Iterable[DocumentRow], removed: Iterable[str]) -> None:
        """Step 3: make the new versions active and the removed documents gone, atomically."""
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (collection, r.source, r.doc_hash, r.title, r.chunks, r.ingested_at)
                    for r in rows
                ],
            )
            db.executemany(
                "DELETE FROM documents WHERE collection = ? AND source = ?",
                [(collection, s) for s in removed],
            )
            self._bump(db, collection)

    def pending(self, collection: str) -> list[Intent]:
        with self._lock:
            got = self._db.execute(
                "SELECT source, new_hash, old_hash FROM pending WHERE collection = ?",
                (collection,),
            ).fetchall()
        return [Intent(*row) for row in got]

    def done(self, collection: str, intents: Iterable[Intent]) -> None:
        with self._tx() as db:
            db.executemany(
                "DELETE FROM pending WHERE collection = ? AND source = ? AND new_hash IS ?"
                " AND old_hash IS ?",
                [(collection, i.source, i.new_hash, i.old_hash) for i in intents],
            )
