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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.store.listing import DocumentQuery, file_name, page_sql
from assistant.store.locks import lock_collection

# The file also holds the keyword index, whose writes dirty thousands of pages a batch:
# checkpointing the WAL every 64 MiB, not SQLite's default 4, copies a page back once for
# many commits (keyword index writes at 30k chunks: 0.85 -> 0.60 ms a chunk).
WAL_CHECKPOINT_PAGES = 16384
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
# Columns added after the first release: a store written before gains them on open
# (`name` filled from the source; size and uploader unknown for documents already there).
ADDED_COLUMNS = {
    "name": "TEXT NOT NULL DEFAULT ''",  # the file name: what the Documents page sorts by
    "size": "INTEGER",  # the file's bytes; NULL: not known
    "ingested_by": "TEXT NOT NULL DEFAULT ''",  # the user who uploaded, or cli:<os user>
}
# Each sort's index holds its whole ORDER BY (source breaks ties), so a page deep into a
# collection is found by walking the index alone (see `page`); size has one per direction,
# unknown sizes last in both.
INDEXES = """
CREATE INDEX IF NOT EXISTS documents_name ON documents (collection, name COLLATE NOCASE, source);
CREATE INDEX IF NOT EXISTS documents_date ON documents (collection, ingested_at, source);
CREATE INDEX IF NOT EXISTS documents_size_up ON documents (collection, size IS NULL, size, source);
CREATE INDEX IF NOT EXISTS documents_size_down
    ON documents (collection, size IS NOT NULL, size, source);
"""
COLUMNS = "collection, source, doc_hash, title, chunks, ingested_at, name, size, ingested_by"
ROW = "source, doc_hash, title, chunks, ingested_at, size, ingested_by"  # DocumentRow's order
INSERT = f"INSERT OR REPLACE INTO documents ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


@dataclass(frozen=True)
class DocumentRow:
    source: str
    doc_hash: str
    title: str
    chunks: int
    ingested_at: str
    size: int | None = None  # the file's bytes, when known
    ingested_by: str = ""  # who wrote this version (see `assistant.audit.current_actor`)

    def values(self, collection: str) -> tuple[object, ...]:
        """The row as `INSERT` takes it."""
        return (
            collection,
            self.source,
            self.doc_hash,
            self.title,
            self.chunks,
            self.ingested_at,
            file_name(self.source),
            self.size,
            self.ingested_by,
        )


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
    def generations(self, collections: Sequence[str]) -> dict[str, int]: ...
    def adopt(self, collection: str, rows: Iterable[DocumentRow]) -> None: ...
    def forget(self, collection: str) -> None: ...
    def collections(self) -> dict[str, tuple[int, int]]: ...
    def documents(self, collection: str) -> list[DocumentRow]: ...
    def page(self, collection: str, query: DocumentQuery) -> tuple[list[DocumentRow], int]: ...
    def active(self, collection: str) -> dict[str, str]: ...
    def active_of(self, collection: str, sources: Iterable[str]) -> dict[str, str]: ...
    def changed_since(self, collection: str, generation: int) -> tuple[int, list[str]] | None: ...
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
        self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        self._db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns a store written by an older version lacks, and the indexes.
        (A process still running the older version cannot write to it afterwards: its
        INSERT names six columns. Upgrade every process sharing a data dir together.)"""
        if set(ADDED_COLUMNS) <= self._columns():
            self._db.executescript(INDEXES)
            return
        with self._tx() as db:
            have = self._columns()  # again, under the write lock (another process may have)
            for column, kind in ADDED_COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE documents ADD COLUMN {column} {kind}")
            if "name" not in have:
                names = db.execute("SELECT collection, source FROM documents").fetchall()
                db.executemany(
                    "UPDATE documents SET name = ? WHERE collection = ? AND source = ?",
                    [(file_name(s), c, s) for c, s in names],
                )
        self._db.executescript(INDEXES)

    def _columns(self) -> set[str]:
        return {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}

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

    def generations(self, collections: Sequence[str]) -> dict[str, int]:
        return {name: self.generation(name) for name in collections}

    def adopt(self, collection: str, rows: Iterable[DocumentRow]) -> None:
        """Start tracking a collection with these active documents (migration, or empty)."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO collections (name) VALUES (?)", (collection,))
            db.executemany(INSERT, [r.values(collection) for r in rows])
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
                f"SELECT {ROW} FROM documents WHERE collection = ? ORDER BY source",
                (collection,),
            ).fetchall()
        return [DocumentRow(*row) for row in got]

    def page(self, collection: str, query: DocumentQuery) -> tuple[list[DocumentRow], int]:
        """One page of documents and how many match (see listing.py). The page's rowids
        come from the sort's index alone (OFFSET skips index entries, not table rows),
        then only those rows are read."""
        where, order, args = page_sql(query)
        with self._lock:
            total = self._db.execute(
                f"SELECT COUNT(*) FROM documents WHERE {where}", (collection, *args)
            ).fetchone()[0]
            got = self._db.execute(
                f"SELECT {ROW} FROM documents WHERE rowid IN (SELECT rowid FROM documents"
                f" WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}",
                (collection, *args, query.limit, query.offset),
            ).fetchall()
        return [DocumentRow(*row) for row in got], int(total)

    def active(self, collection: str) -> dict[str, str]:
        """source -> active doc_hash."""
        with self._lock:
            got = self._db.execute(
                "SELECT source, doc_hash FROM documents WHERE collection = ?", (collection,)
            ).fetchall()
        return dict(got)

    def changed_since(self, collection: str, generation: int) -> tuple[int, list[str]] | None:
        """None: a process re-reads the local file whole (see `ChromaManifest`'s)."""
        return None

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
            db.executemany(INSERT, [r.values(collection) for r in rows])
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
