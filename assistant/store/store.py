"""Reading and managing the store: Chroma collections of chunks, filtered through the manifest
of which version of each document is active (`manifest.py`).

One collection per name (e.g. one per team); each records the embedding model that built
it, so a query with another model is a clear error instead of silent nonsense. Separate
collections, not a metadata filter, keep queries fast (a `where` filter costs ~25x).

Documents are replaced all-or-nothing (see `DocumentWriter` and the manifest): readers
(search, chunks for BM25, documents) see only chunks of each source's active version.

Embedded (default): a PersistentClient in `path`, the manifest a SQLite file beside it.
With a `ChromaServer`: an HTTP client, the manifest in the server too (chroma_manifest.py),
so stateless replicas in front of one server see the same documents. Their keyword index
is in PostgreSQL when one is configured (shared by every replica), else in a SQLite file in
`path`, shared by the processes that share that directory (compose's assistant and ingest).

A chunk's text is stored in its metadata (`TEXT_KEY`), not as Chroma's document: Chroma
indexes every document for its own full-text search (`where_document`), which we never
use (keywords have their own index), and that indexing was ~40 % of an upsert into a
store of 30k chunks. Stores written before keep their texts as documents; both are read.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import InvalidArgumentError, NotFoundError

from assistant.embeddings import Embedder
from assistant.errors import AssistantError, EmbedderMismatch
from assistant.store.chroma_manifest import MANIFEST_COLLECTION, ChromaManifest
from assistant.store.crash import crash_point
from assistant.store.keyword_db import PostgresKeywordDb, SqliteKeywordDb
from assistant.store.keywords import KeywordIndex, KeywordRow
from assistant.store.listing import DocumentQuery
from assistant.store.manifest import DocumentRow, Intent, Manifest, ManifestBackend
from assistant.store.server import ChromaServer, ServerClient
from assistant.store.types import (
    Chunk,
    CollectionInfo,
    DocumentInfo,
    DocumentPage,
    Hit,
    KeywordMatch,
)
from assistant.store.writer import DocumentWriter

TEXT_KEY = "text"  # the metadata key that holds a chunk's text in Chroma
PAGE = 1_000  # chunks read from Chroma at a time when many are read
KEYWORD_FILE = "keywords.sqlite3"  # a server's replica without PostgreSQL: in its data dir


class Store:
    def __init__(
        self,
        path: Path,
        embedder: Embedder,
        default_collection: str,
        server: ChromaServer | None = None,
        keyword_url: str | None = None,
    ) -> None:
        """`path`: the embedded store, or with a `server` this replica's lock files and,
        without `keyword_url`, its keyword index. `keyword_url`: with a server, the
        PostgreSQL database shared by the replicas that holds the keyword index."""
        path.mkdir(parents=True, exist_ok=True)
        self._manifest: ManifestBackend
        # With a server and a keyword file of its own, writers elsewhere do not update it:
        # a search first indexes what they wrote (`_keywords_caught_up`).
        self._own_keywords = server is not None and not keyword_url
        self._keywords_seen: dict[str, int] = {}  # collection -> generation caught up with
        if server is None:
            self._client: Any = chromadb.PersistentClient(
                path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
            )
            self._manifest = Manifest(path / "manifest.sqlite3")
            self.keywords = KeywordIndex(SqliteKeywordDb(path / "manifest.sqlite3"))
        else:
            self._client = ServerClient(server)
            self._manifest = ChromaManifest(self._client, path)
            self.keywords = KeywordIndex(
                PostgresKeywordDb(keyword_url)
                if keyword_url
                else SqliteKeywordDb(path / KEYWORD_FILE)
            )
        self.server = server
        self.path = path
        self.embedder = embedder
        self.default_collection = default_collection
        self._active_cache: dict[str, _ActiveMap] = {}
        self._readers: dict[str, tuple[int, Any]] = {}
        self._lock = threading.RLock()
        # generations pinned by `one_read` (per store: a process may open two)
        self._pinned: ContextVar[dict[str, int] | None] = ContextVar(
            f"pinned-{id(self)}", default=None
        )

    # --- collections -------------------------------------------------------------------
    def _collection(self, name: str | None, create: bool | None = None) -> Any:
        """Open a collection. Reading one that does not exist is an error (a typo must not
        create it), except the default collection, which starts empty; writers create."""
        name = name or self.default_collection
        if name == MANIFEST_COLLECTION:  # the server's manifest, not documents
            raise AssistantError(f"the collection name '{name}' is reserved")
        if create is None:
            create = name == self.default_collection
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

    def _chroma_collections(self) -> list[Any]:
        return [c for c in self._client.list_collections() if c.name != MANIFEST_COLLECTION]

    def collections(self) -> list[str]:
        return sorted(c.name for c in self._chroma_collections())

    def drop(self, collection: str | None = None) -> None:
        """Delete a collection: its documents leave the manifest first (so a kill half-way
        leaves an empty collection whose leftover chunks `repair` deletes), then Chroma's."""
        name = collection or self.default_collection
        if self._manifest.known(name):
            self._manifest.flip(name, [], [d.source for d in self._manifest.documents(name)])
        if name in self.collections():
            self._client.delete_collection(name)
        self.keywords.drop(name)
        self._manifest.forget(name)
        self._readers.pop(name, None)
        self._active_cache.pop(name, None)

    @contextmanager
    def one_read(self, collections: Sequence[str] = ()) -> Iterator[None]:
        """Within it, and in threads run in a copy of its context, each collection's
        generation is read once (these collections' at once: one request to a Chroma
        server), so the reads of one question judge the active versions by one state of
        the manifest, and a server is not asked before each of them. For reads only: a
        write inside it would not see its own bump. Nested scopes keep the outermost."""
        if self._pinned.get() is not None:
            yield
            return
        token = self._pinned.set(self._manifest.generations(collections) if collections else {})
        try:
            yield
        finally:
            self._pinned.reset(token)

    def _generation(self, name: str) -> int:
        pinned = self._pinned.get()
        if pinned is None:
            return self._manifest.generation(name)
        if name not in pinned:
            pinned[name] = self._manifest.generation(name)
        return pinned[name]

    # --- writing -----------------------------------------------------------------------
    def writer(self, collection: str | None = None, **kwargs: Any) -> DocumentWriter:
        """Write whole documents atomically, batching chunks across documents; see
        `DocumentWriter`. Use as a context manager (leaving it commits what is complete)."""
        name = collection or self.default_collection
        self._collection(name, create=True)
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
        lock = self.lock(name)
        try:
            return self.remove_locked(name, sources)
        finally:
            lock.close()

    # --- the writer's interface: DocumentWriter calls only these, holding `lock` -----
    def lock(self, name: str) -> Any:
        """The collection's writer lock (a handle to close()); refused while another runs."""
        return self._manifest.lock(name)

    def max_batch(self) -> int:
        return int(self._client.get_max_batch_size())

    def active_versions(self, name: str) -> dict[str, str]:
        """source -> active doc_hash, read fresh from the manifest."""
        return self._manifest.active(name)

    def intend(self, name: str, intents: Sequence[Intent]) -> None:
        """Step 1 of a replace: record the versions about to be written."""
        self._manifest.intend(name, intents)

    def write_chunks(
        self,
        name: str,
        chunks: Sequence[Chunk],
        known: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        """Step 2: embed and write chunks of intended versions (invisible until `commit`).
        `known`: vectors by chunk id that need no embedding (a renamed file's chunks, or
        those the writer embedded)."""
        embeddings = self.vectors(chunks, known)
        col = self._collection(name, create=True)
        with self._lock:
            col.upsert(
                ids=[c.id for c in chunks],
                metadatas=[{**c.metadata, TEXT_KEY: c.text} for c in chunks],
                embeddings=embeddings,
            )
        crash_point("upsert")
        self.refresh_keywords(name)  # none yet, or made by an earlier analyzer: built first
        self.keywords.add(name, chunks)

    def vectors(
        self, chunks: Sequence[Chunk], known: Mapping[str, Sequence[float]] | None = None
    ) -> list[Sequence[float]]:
        """The chunks' vectors: those in `known` as they are, the others embedded."""
        known = known or {}
        fresh = [c.text for c in chunks if c.id not in known]
        computed = iter(self.embedder.embed(fresh) if fresh else [])
        return [known[c.id] if c.id in known else next(computed) for c in chunks]

    def commit(self, name: str, rows: Sequence[DocumentRow], intents: Sequence[Intent]) -> None:
        """Step 3: make the new versions active in one flip, then delete the old ones."""
        self._manifest.flip(name, rows, [])
        crash_point("flip")
        col = self._collection(name, create=True)
        with self._lock:
            for i in intents:
                if i.old_hash is not None and i.old_hash != i.new_hash:
                    self._delete_version(col, name, i.source, i.old_hash)
                    crash_point("delete-old")
        self._manifest.done(name, intents)

    def discard(self, name: str, intent: Intent) -> None:
        """Forget an intended version half-written: delete its chunks, keep the active one."""
        assert intent.new_hash is not None
        col = self._collection(name, create=True)
        with self._lock:
            self._delete_version(col, name, intent.source, intent.new_hash)
        self._manifest.done(name, [intent])

    def remove_locked(self, name: str, sources: Sequence[str]) -> int:
        """`remove` for a caller already holding the collection's lock. The documents stored
        under a removed document's path go with it (a mail's attachments)."""
        active = self._manifest.active(name)
        sources = _with_attached([s for s in sources if s in active], active)
        intents = [Intent(s, None, active[s]) for s in sources]
        if not intents:
            return 0
        self._manifest.intend(name, intents)
        crash_point("remove-intent")
        self._manifest.flip(name, [], [i.source for i in intents])
        crash_point("remove-flip")
        col = self._collection(name)
        with self._lock:
            for i in intents:
                assert i.old_hash is not None
                self._delete_version(col, name, i.source, i.old_hash)
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
        lock = self.lock(name)
        try:
            return self.recover(name, full=full)
        finally:
            lock.close()

    def recover(self, name: str, *, full: bool = False) -> int:
        """`repair` for a caller already holding the collection's lock."""
        col = self._collection(name, create=True)
        deleted = 0
        intents = self._manifest.pending(name)
        active = self._manifest.active(name)
        with self._lock:
            for i in intents:
                for version in (i.new_hash, i.old_hash):
                    if version is not None and active.get(i.source) != version:
                        deleted += self._delete_version(col, name, i.source, version)
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
        self._check_keywords(name, active, full=full)
        return deleted

    def _delete_version(self, col: Any, name: str, source: str, doc_hash: str) -> int:
        """Delete one version's chunks from Chroma and its rows from the keyword index."""
        where = {"$and": [{"source": source}, {"doc_hash": doc_hash}]}
        ids = col.get(where=where, include=[])["ids"]
        if ids:
            col.delete(ids=ids)
        self.keywords.delete_version(name, source, doc_hash)
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
        """source -> active doc_hash of every document, cached until the manifest's
        generation changes, then brought up to date by `_current`."""
        self._tracked(name)
        entry = self._current(name)
        if entry is None or not entry.complete:
            entry = _ActiveMap(self._generation(name), self._manifest.active(name), True)
            self._active_cache[name] = entry
        return entry.active

    def _current(self, name: str) -> _ActiveMap | None:
        """The cached map of active versions at the manifest's generation, or None. After a
        change, the sources changed since are read again where the manifest still lists
        them (a Chroma server's does; see `ChromaManifest.changed_since`): a change costs
        a replica one small read, not the whole map (20,000 documents a collection at 1M
        chunks). A partial map forgets them instead, to look them up when asked."""
        generation = self._generation(name)
        cached = self._active_cache.get(name)
        if cached is None or cached.generation == generation:
            return cached
        change = self._manifest.changed_since(name, cached.generation)
        if change is None:
            self._active_cache.pop(name, None)
            return None
        now, sources = change
        gone = set(sources)
        active = {s: h for s, h in cached.active.items() if s not in gone}
        if cached.complete:
            active |= self._manifest.active_of(name, sources)
        entry = self._active_cache[name] = _ActiveMap(now, active, cached.complete)
        return entry

    # --- the keyword index (see keywords.py) -----------------------------------------
    def _check_keywords(self, name: str, active: dict[str, str], *, full: bool = False) -> None:
        """Make the keyword index hold exactly the active versions' chunks: build it if
        missing, drop rows of other versions, index again if an active version lost rows.
        Cheap unless its row count differs from the manifest's."""
        if not self.keywords.ready(name):
            self.keywords.build(name, self.chunks(name))
            return
        if not full and self.keywords.count(name) == self._manifest.chunk_total(name):
            return
        versions = self.keywords.versions(name)
        for source, doc_hash in versions:
            if active.get(source) != doc_hash:
                self.keywords.delete_version(name, source, doc_hash)
        held = {s: n for (s, h), n in versions.items() if active.get(s) == h}
        expected = {r.source: r.chunks for r in self._manifest.documents(name)}
        if held != expected:  # rows of an active version lost: index them again
            self.keywords.drop(name)
            self.keywords.build(name, self.chunks(name))

    def _keywords_caught_up(self, name: str) -> None:
        """Index the active versions that writers not sharing this replica's keyword file
        (another machine: they change only the server) wrote since it last looked. A
        change lists the sources it touched (`changed_since`), so this is one request and
        one read of the index per change. An index never caught up, or one too far behind,
        compares every document; where it did so is kept in the file, so a new process
        (`assistant ask`, a restarted `serve`) starts from there too. (Only then: a write
        after every change would queue a question behind a sharing ingest's transaction.)
        Rows of the versions those writers replaced stay (the active map filters them out)
        until `assistant docs --repair`: deleting them here could race a writer sharing
        the file, whose new version is not active yet."""
        generation = self._generation(name)
        if self._keywords_seen.get(name) == generation:
            return
        with self._lock:
            seen = self._keywords_seen.get(name)
            if seen == generation or not self.keywords.ready(name):
                return  # a missing index is built from every chunk by the search
            if seen is None:
                seen = self.keywords.caught_up(name)
            change = None if seen is None else self._manifest.changed_since(name, seen)
            active = self._active(name) if change is None else self._active_for(name, change[1])
            held = self.keywords.versions_of(name, list(active))
            for source, doc_hash in active.items():
                if (source, doc_hash) not in held:
                    self.keywords.add(name, [c for c, _ in self.read_document(source, name)])
            if change is None:
                self.keywords.mark_caught_up(name, generation)
            self._keywords_seen[name] = generation

    def refresh_keywords(self, name: str) -> bool:
        """Build the collection's keyword index if it has none, or one whose terms an
        earlier analyzer made, as its first search would; True if it did."""
        if self.keywords.ready(name):
            return False
        return self.keywords.build(name, self.chunks(name))

    def keyword_search(
        self, terms: Sequence[str], n: int, collection: str | None = None
    ) -> list[str]:
        """Ids of the n active chunks that rank best by BM25 over the terms."""
        return self.keyword_match(terms, n, collection).ids

    def keyword_match(
        self, terms: Sequence[str], n: int, collection: str | None = None
    ) -> KeywordMatch:
        """`keyword_search`, with the terms' weights and the terms each chunk found holds
        (for the relevance gate's keyword coverage)."""
        name = collection or self.default_collection
        if not terms:
            return KeywordMatch([], {}, {})
        self._tracked(name)
        if self._own_keywords:
            self._keywords_caught_up(name)
        found = self.keywords.top(name, terms, n * 2)
        if found is None:  # no index yet (a store written before it existed): build it
            self._check_keywords(name, self._active(name))
            found = self.keywords.top(name, terms, n * 2)
        if found is None:
            return KeywordMatch([], {}, {})
        rows = self._active_rows(name, found.rows)
        return KeywordMatch([r.chunk_id for r in rows][:n], found.weights, _held(rows))

    def keyword_terms(
        self, ids: Sequence[str], terms: Sequence[str], collection: str | None = None
    ) -> dict[str, frozenset[str]]:
        """Of these chunk ids, the active ones the keyword index holds, each with the terms
        it holds."""
        name = collection or self.default_collection
        if not ids:
            return {}
        return _held(self._active_rows(name, self.keywords.rows(name, ids, terms)))

    def _active_rows(self, name: str, rows: list[KeywordRow]) -> list[KeywordRow]:
        active = self._active_for(name, [r.source for r in rows])
        return [r for r in rows if active.get(r.source) == r.doc_hash]

    def _active_for(self, name: str, sources: Sequence[str]) -> dict[str, str]:
        """source -> active doc_hash for these sources: looked up in the embedded manifest
        (a local read); from a server's, kept as they are looked up (one request for those
        not known yet), so neither a change nor a replica's first question reads the whole
        map (`_current`)."""
        self._tracked(name)
        if isinstance(self._manifest, Manifest):
            return self._manifest.active_of(name, sources)
        entry = self._current(name)
        if entry is None:
            entry = self._active_cache[name] = _ActiveMap(self._generation(name), {}, False)
        known = entry.active
        if not entry.complete:
            missing = [s for s in dict.fromkeys(sources) if s not in known]
            if missing:  # one request; "" marks a source with no active version
                found = self._manifest.active_of(name, missing)
                known.update({s: found.get(s, "") for s in missing})
        return {s: known[s] for s in sources if known.get(s)}

    # --- reading: only chunks of active versions are visible ------------------------
    def count(self, collection: str | None = None) -> int:
        """Chunks of the active documents (orphans a crash left behind are not counted)."""
        name = collection or self.default_collection
        self._tracked(name)
        return self._manifest.chunk_total(name)

    def held(self, sources: Sequence[str], collection: str | None = None) -> set[str]:
        """Which of these documents the collection holds: looked up, not listed (a
        collection of 1M chunks lists its 100k documents in ~1 s)."""
        active = self._active_for(collection or self.default_collection, sources)
        return {s for s in sources if s in active}

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        name = collection or self.default_collection
        self._tracked(name)
        return [DocumentInfo(**r.__dict__) for r in self._manifest.documents(name)]

    def document_page(
        self, collection: str | None = None, query: DocumentQuery | None = None
    ) -> DocumentPage:
        """One page of a collection's documents, searched and sorted by the manifest (the
        query is clamped to its bounds first: see `DocumentQuery`)."""
        name = collection or self.default_collection
        self._tracked(name)
        q = (query or DocumentQuery()).clamped()
        rows, total = self._manifest.page(name, q)
        return DocumentPage([DocumentInfo(**r.__dict__) for r in rows], total, q.offset, q.limit)

    def collection_stats(self) -> list[CollectionInfo]:
        """Every collection with its documents and chunks (None when built by another
        embedder: it cannot be opened with this one)."""
        out = []
        for col in self._chroma_collections():
            built_with = str((col.metadata or {}).get("embedder"))
            if built_with == self.embedder.name:
                self._tracked(col.name)
                docs, chunks = self._manifest.collections().get(col.name, (0, 0))
                out.append(CollectionInfo(col.name, built_with, docs, chunks))
            else:
                out.append(CollectionInfo(col.name, built_with, None, None))
        return sorted(out, key=lambda c: c.name)

    def _reading(self, name: str) -> Any:
        """The collection, kept until the manifest's generation changes: opening one costs
        more than a query, and only a write (which bumps the generation) can change it.
        (Its count is not kept: Chroma counts a 200k collection in ~12 ms, and a query for
        more results than there are returns them all.)"""
        generation = self._generation(name)
        cached = self._readers.get(name)
        if cached is None or cached[0] != generation:
            cached = (generation, self._collection(name))
            self._readers[name] = cached
        return cached[1]

    def _pages(
        self, collection: str | None, include: list[str], where: dict[str, Any] | None = None
    ) -> Iterator[Any]:
        """Everything in a collection (that `where` matches), paged so a large one never
        sits in one response."""
        col = self._collection(collection)
        for offset in itertools.count(0, PAGE):
            got = col.get(where=where, include=include, limit=PAGE, offset=offset)
            yield got
            if len(got["ids"]) < PAGE:
                return

    def chunks(self, collection: str | None = None) -> Iterator[Chunk]:
        name = collection or self.default_collection
        active = self._active(name)
        for got in self._pages(name, ["documents", "metadatas"]):
            for id_, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                if _owned(meta, active):
                    yield _chunk(id_, text, meta)

    def read_document(
        self, source: str, collection: str | None = None, *, vectors: bool = False
    ) -> Iterator[tuple[Chunk, np.ndarray | None]]:
        """The active version's chunks of one document, with their vectors if asked, read a
        page at a time (a 200 MB log's never sit in memory at once); in no set order, their
        `chunk_index` says each one's place."""
        name = collection or self.default_collection
        doc_hash = self._active_for(name, [source]).get(source)
        if doc_hash is None:
            return
        where = {"$and": [{"source": source}, {"doc_hash": doc_hash}]}
        include = ["documents", "metadatas", *(["embeddings"] if vectors else [])]
        for got in self._pages(name, include, where):
            found = got["embeddings"] if vectors else [None] * len(got["ids"])
            for id_, text, meta, vector in zip(
                got["ids"], got["documents"], got["metadatas"], found, strict=True
            ):
                yield _chunk(id_, text, meta), vector

    def search(
        self, embedding: Sequence[float] | np.ndarray, k: int, collection: str | None = None
    ) -> list[Hit]:
        """The k nearest active chunks (no keywords, no relevance gate: see `Retriever`)."""
        n = k
        while True:
            near = self.nearest(embedding, n, collection)
            found = {c.id: c for c, _ in self.get_with_embeddings([i for i, _ in near], collection)}
            hits = [Hit(found[i], similarity) for i, similarity in near if i in found]
            if len(hits) >= k or len(near) < n:
                return hits[:k]
            n *= 4  # chunks of inactive versions took places: look further

    def nearest(
        self, embedding: Sequence[float] | np.ndarray, n: int, collection: str | None = None
    ) -> list[tuple[str, float]]:
        """The ids of the n nearest chunks and their cosine similarity, of any version
        (`get_with_embeddings` drops chunks of inactive versions; a caller short of
        active ones asks for more). Reads no metadata, most of a Chroma query's cost."""
        col = self._reading(collection or self.default_collection)
        got = col.query(
            query_embeddings=np.asarray([embedding], dtype=np.float32),
            n_results=max(n, 1),
            include=["distances"],
        )
        return [
            (id_, 1.0 - float(d)) for id_, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def get_with_embeddings(
        self, ids: Sequence[str], collection: str | None = None
    ) -> list[tuple[Chunk, np.ndarray]]:
        """The chunks of these ids that belong to active versions, with their vectors."""
        if not ids:
            return []
        name = collection or self.default_collection
        got = self._reading(name).get(
            ids=list(ids), include=["documents", "metadatas", "embeddings"]
        )
        active = self._active_for(name, [str((m or {}).get("source")) for m in got["metadatas"]])
        return [
            (_chunk(i, t, m), np.asarray(e, dtype=np.float32))
            for i, t, m, e in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
            if _owned(m, active)
        ]


@dataclass
class _ActiveMap:
    """source -> active doc_hash at a generation of the manifest: every document's
    (`complete`), or those looked up so far ("": looked up, none active)."""

    generation: int
    active: dict[str, str]
    complete: bool


def _chunk(chunk_id: str, document: str | None, meta: Mapping[str, Any] | None) -> Chunk:
    """A chunk as Chroma returned it: its text from the metadata, or (written before
    `TEXT_KEY`) from the document."""
    metadata = dict(meta or {})
    text = metadata.pop(TEXT_KEY, None)
    return Chunk(chunk_id, str(text) if text is not None else document or "", metadata)


def _held(rows: list[KeywordRow]) -> dict[str, frozenset[str]]:
    return {r.chunk_id: r.terms for r in rows}


def _owned(meta: Any, active: dict[str, str]) -> bool:
    """Whether a chunk belongs to the active version of its document."""
    return bool(meta) and active.get(str(meta.get("source"))) == meta.get("doc_hash")


def _with_attached(sources: Sequence[str], active: dict[str, str]) -> list[str]:
    """The sources and every active one stored under their paths, each once."""
    prefixes = tuple(s.rstrip("/") + "/" for s in sources)
    attached = [s for s in active if prefixes and s.startswith(prefixes)]
    return list(dict.fromkeys([*sources, *attached]))
