"""Where the keyword index lives: the embedded store's SQLite manifest file, or (server mode,
`database_url` on PostgreSQL) the PostgreSQL database every replica already shares.

Both speak the same SQL to `keywords.py` (`?` placeholders, `ON CONFLICT DO NOTHING`); only
the table definitions and the write lock differ. Writes go through one connection under a
lock. Reads (`read()`) each get a snapshot on a connection of their own, so the collections
a question searches, and several people's questions, are read at once: on SQLite each
thread has its own read-only connection (WAL lets readers run beside a writer); on
PostgreSQL a read borrows one of at most `PG_READERS` connections.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.store.manifest import WAL_CHECKPOINT_PAGES

PG_READERS = 4  # connections a process reads a PostgreSQL keyword index through at once

_TABLES = """
CREATE TABLE IF NOT EXISTS {t}_chunks (
    seq BIGINT PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    doc_hash TEXT NOT NULL,
    length INTEGER NOT NULL,
    postings {blob} NOT NULL
);
CREATE INDEX IF NOT EXISTS {t}_by_version ON {t}_chunks (source, doc_hash);
CREATE TABLE IF NOT EXISTS {t}_terms (
    id {serial},
    term TEXT NOT NULL UNIQUE,
    df INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS {t}_postings (
    term BIGINT NOT NULL,
    impact INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (term, impact, seq)
){without_rowid};
"""
REGISTRY = """
CREATE TABLE IF NOT EXISTS keyword_collections (
    collection TEXT PRIMARY KEY,
    chunks BIGINT NOT NULL DEFAULT 0,
    length BIGINT NOT NULL DEFAULT 0,
    generation BIGINT NOT NULL DEFAULT 0,
    analyzer TEXT NOT NULL DEFAULT ''
)
"""
# Columns an index written by an earlier version lacks, added when it is opened:
# - generation names the collection's current state: every write sets a new random one, so
#   a reader's cached top postings know they are stale;
# - analyzer names how its terms were made (words.ANALYZER): '' (before it existed) or any
#   other value than the current one means the index is rebuilt from the chunks;
# - caught_up is the manifest generation at which a replica with its own file last compared
#   every document with it (`Store._keywords_caught_up`; -1: never), so its next process
#   starts from there.
ADDED_COLUMNS = {
    "generation": "BIGINT NOT NULL DEFAULT 0",
    "analyzer": "TEXT NOT NULL DEFAULT ''",
    "caught_up": "BIGINT NOT NULL DEFAULT -1",
}


def _add_column(name: str, *, if_not_exists: bool = False) -> str:
    guard = " IF NOT EXISTS" if if_not_exists else ""  # PostgreSQL's; SQLite has none
    return f"ALTER TABLE keyword_collections ADD COLUMN{guard} {name} {ADDED_COLUMNS[name]}"


class KeywordDb:
    """What keywords.py needs of a database."""

    lock: threading.RLock

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def tables(self, tag: str) -> list[str]:
        raise NotImplementedError

    joining = "group_concat({})"  # SQL aggregating an integer column into "1,2,3"

    def joined(self, column: str) -> str:
        return self.joining.format(column)

    def close(self) -> None: ...

    @contextmanager
    def tx(self) -> Iterator[KeywordDb]:
        """One write transaction, serialised against every other writer of the index."""
        with self.lock:
            self._begin()
            try:
                yield self
            except BaseException:
                self.execute("ROLLBACK")
                raise
            self.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[KeywordDb]:
        """The connection for the statements of one query (SQLite: a snapshot of its own;
        here the shared one, under the lock)."""
        with self.lock:
            yield self

    # What a statement on a table that does not exist raises.
    no_table: tuple[type[Exception], ...] = ()

    @contextmanager
    def read_one(self) -> Iterator[KeywordDb]:
        """The connection for a single statement, a snapshot by itself: no transaction
        around it (to PostgreSQL one round trip, not three)."""
        with self.read() as db:
            yield db

    def _begin(self) -> None: ...


class _Reader(KeywordDb):
    """One thread's read-only SQLite connection, inside a read transaction (a snapshot)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql, params)


class SqliteKeywordDb(KeywordDb):
    no_table = (sqlite3.OperationalError,)

    def __init__(self, path: Path) -> None:
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable against process death
        self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        self._db.execute(REGISTRY)
        for column in ADDED_COLUMNS:
            try:
                self._db.execute(_add_column(column))
            except sqlite3.OperationalError as exc:  # there already (no IF NOT EXISTS here)
                if "duplicate column" not in str(exc):
                    raise
        self._path = path
        self._readers: dict[threading.Thread, sqlite3.Connection] = {}  # a thread's own

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    @contextmanager
    def read(self) -> Iterator[KeywordDb]:
        db = self._reader()
        db.execute("BEGIN")
        try:
            yield _Reader(db)
        finally:
            db.execute("COMMIT")

    @contextmanager
    def read_one(self) -> Iterator[KeywordDb]:
        yield _Reader(self._reader())  # in autocommit: the statement is its own transaction

    def _reader(self) -> sqlite3.Connection:
        return self._readers.get(threading.current_thread()) or self._connect_reader()

    def _connect_reader(self) -> sqlite3.Connection:
        """This thread's read-only connection; those of threads that have ended (a web
        server's idle workers do) are closed, so they do not pile up."""
        uri = f"{self._path.resolve().as_uri()}?mode=ro"
        db = sqlite3.connect(
            uri, uri=True, timeout=60, check_same_thread=False, isolation_level=None
        )
        with self.lock:
            for thread in [t for t in self._readers if not t.is_alive()]:
                self._readers.pop(thread).close()
            self._readers[threading.current_thread()] = db
        return db

    def tables(self, tag: str) -> list[str]:
        ddl = _TABLES.format(
            t=tag, blob="BLOB", serial="INTEGER PRIMARY KEY", without_rowid=" WITHOUT ROWID"
        )
        return [s for s in ddl.split(";") if s.strip()]

    def close(self) -> None:
        with self.lock:
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()
        self._db.close()

    def _begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")


class _PgConnection(KeywordDb):
    """One psycopg connection speaking keywords.py's SQL (`?` placeholders); a reader's is
    inside a read-only REPEATABLE READ transaction."""

    joining = "string_agg({}::text, ',')"

    def __init__(self, db: Any) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql.replace("?", "%s"), tuple(params))


class PostgresKeywordDb(_PgConnection):
    """PostgreSQL through psycopg 3 (the driver `database_url` already uses for users)."""

    _LOCK_KEY = 0x6B657977  # pg_advisory_xact_lock key of keyword-index writers ("keyw")

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        params = parsed.translate_connect_args(username="user", database="dbname")
        params.update({k: v for k, v in parsed.query.items() if isinstance(v, str)})
        self._params = params
        super().__init__(self._connect())  # the writer's
        import psycopg.errors

        self.no_table = (psycopg.errors.UndefinedTable,)
        self.lock = threading.RLock()
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()  # read connections not in use
        self._reading = threading.BoundedSemaphore(PG_READERS)
        self._db.execute(REGISTRY)
        for column in ADDED_COLUMNS:
            has = self._db.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = 'keyword_collections' AND column_name = %s",
                (column,),
            ).fetchone()
            if has is None:  # checked first: ALTER TABLE locks the table even when it is there
                self._db.execute(_add_column(column, if_not_exists=True))

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(autocommit=True, connect_timeout=10, **self._params)
        except psycopg.Error as exc:
            raise AssistantError(
                f"cannot open the keyword index in ASSISTANT_DATABASE_URL ({exc})"
            ) from exc

    @contextmanager
    def read(self) -> Iterator[KeywordDb]:
        """A snapshot on a read connection of its own."""
        with self._borrowed() as db:
            db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield _PgConnection(db)
            finally:
                db.execute("ROLLBACK")  # it wrote nothing

    @contextmanager
    def read_one(self) -> Iterator[KeywordDb]:
        with self._borrowed() as db:  # in autocommit: the statement is its own transaction
            yield _PgConnection(db)

    @contextmanager
    def _borrowed(self) -> Iterator[Any]:
        """A read connection (made on first need, then reused; at most `PG_READERS`, a
        read beyond waits for one); one the server broke is dropped."""
        with self._reading:
            try:
                db = self._idle.get_nowait()
            except queue.Empty:
                db = self._connect()
            try:
                yield db
            finally:
                if db.broken or db.closed:
                    db.close()
                else:
                    self._idle.put(db)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._db.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)

    def tables(self, tag: str) -> list[str]:
        serial = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        ddl = _TABLES.format(t=tag, blob="BYTEA", serial=serial, without_rowid="")
        return [s for s in ddl.split(";") if s.strip()]

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()
        self._db.close()

    def _begin(self) -> None:
        self._db.execute("BEGIN")
        self._db.execute("SELECT pg_advisory_xact_lock(%s)", (self._LOCK_KEY,))
