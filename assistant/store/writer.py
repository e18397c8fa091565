"""Writing whole documents: each becomes visible all at once or not at all.

Chroma has no transactions, so the manifest does the committing: chunks of a new version
are written first, then one SQLite transaction makes that version the active one, then
the old version's chunks are deleted. An intent row written before any chunk lets the
next run clean up after a kill at any of these steps.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assistant.audit.actor import current_actor
from assistant.store.crash import crash_point
from assistant.store.manifest import DocumentRow, Intent
from assistant.store.types import Chunk

if TYPE_CHECKING:
    from assistant.store.store import Store

EMBED_BATCH = 128  # chunks embedded and written per Chroma call, across documents


@dataclass
class _Pending:
    source: str
    doc_hash: str
    title: str
    old_hash: str | None
    size: int | None = None  # the file's bytes, from its chunks' `file_bytes`
    chunks: int = 0  # added so far
    reused: int = 0  # of those, how many took a stored vector (their text unchanged)
    unflushed: int = 0  # of those, still in the buffer
    ended: bool = False
    intended: bool = False


class DocumentWriter:
    """Writes documents so each becomes visible whole or not at all, batching chunks
    across documents so many small files embed as efficiently as one big one.

    begin(source, doc_hash, title); add(chunk) ...; end(source) -- or abort(source) when
    reading the file failed half-way. A document is committed (its manifest row flipped,
    its old version deleted, `on_commit(source, chunks, replaced, reused)` called) once all
    its chunks are written. Holding a writer locks the collection against other writers (see
    the manifest's `lock`); the lock dies with the process.
    """

    def __init__(
        self,
        store: Store,
        collection: str,
        *,
        batch: int = EMBED_BATCH,
        on_commit: Callable[[str, int, bool, int], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        self.collection = collection
        self._batch = min(batch, store.max_batch())
        self._on_commit = on_commit
        self._on_batch = on_batch
        self._lockfile = store.lock(collection)
        store.recover(collection)  # finish whatever a killed run left behind
        self._active = store.active_versions(collection)
        self._buffer: list[tuple[_Pending, Chunk]] = []
        self._known: dict[str, Sequence[float]] = {}  # chunk id -> a vector reused as is
        # While a document is being written: its stored chunks' ids, by text (`_recall`).
        self._recalled: dict[str, dict[bytes, str]] = {}
        self._matched: dict[str, str] = {}  # chunk id -> the stored chunk with its text
        self._docs: dict[str, _Pending] = {}
        self.embed_seconds = 0.0  # of the time written, how much the embedder took

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
        """Remove documents from the collection (under this writer's lock), with those
        stored under their paths (a mail's attachments)."""
        removed = self._store.remove_locked(self.collection, sources)
        self._active = self._store.active_versions(self.collection)
        return removed

    def begin(self, source: str, doc_hash: str, title: str, like: Iterable[str] = ()) -> None:
        """`like`: stored documents this one may share chunk texts with besides its own old
        version (the old path of a renamed mail); see `_recall`."""
        if source in self._docs:
            raise ValueError(f"{source} is already being written")
        doc = _Pending(source, doc_hash, title, self._active.get(source))
        self._docs[source] = doc
        self._recall(source, [*like, *([source] if doc.old_hash else [])])

    def _recall(self, owner: str, sources: Sequence[str]) -> None:
        """Note which stored chunks of these documents hold which text, until `owner` ends:
        a chunk added meanwhile with one of those texts takes that chunk's vector instead
        of being embedded (the same text, the same vector). Ids, not vectors, are held
        (~200 bytes a chunk); the vectors are read a batch at a time."""
        if not sources:
            return
        found = self._recalled.setdefault(owner, {})
        for stored in sources:
            for chunk, _ in self._store.read_document(stored, self.collection):
                found[_text_key(chunk.text)] = chunk.id

    def _stored_twin(self, text: str) -> str | None:
        key = _text_key(text)
        return next((found[key] for found in self._recalled.values() if key in found), None)

    def add(self, chunk: Chunk, embedding: Sequence[float] | None = None) -> None:
        """`embedding`: the chunk's vector when it is known already (a renamed file's
        chunks keep theirs), so it is not embedded again; else that of a stored chunk with
        the same text, if `begin` recalled one."""
        doc = self._docs[str(chunk.metadata["source"])]
        if chunk.metadata.get("title"):  # derived from the text once read (ingest's titles)
            doc.title = str(chunk.metadata["title"])
        if isinstance(chunk.metadata.get("file_bytes"), int):
            doc.size = int(chunk.metadata["file_bytes"])
        doc.chunks += 1
        doc.unflushed += 1
        self._buffer.append((doc, chunk))
        if embedding is not None:
            self._known[chunk.id] = embedding
        elif self._recalled and (twin := self._stored_twin(chunk.text)):
            self._matched[chunk.id] = twin
        if len(self._buffer) >= self._batch:
            self._flush_buffer()

    def end(self, source: str) -> None:
        self._docs[source].ended = True
        self._recalled.pop(source, None)
        self._commit_ready()

    def abort(self, source: str) -> None:
        """Forget a document half-written: the chunks already in Chroma are deleted, the
        active version (if any) stays as it was."""
        doc = self._docs.pop(source)
        self._recalled.pop(source, None)
        for d, c in self._buffer:
            if d is doc:
                self._known.pop(c.id, None)
                self._matched.pop(c.id, None)
        self._buffer = [(d, c) for d, c in self._buffer if d is not doc]
        if doc.intended:
            self._store.discard(self.collection, Intent(source, doc.doc_hash, doc.old_hash))

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
            self._store.intend(self.collection, intents)
            for d in fresh.values():
                d.intended = True
            crash_point("intent")
        chunks = [c for _, c in self._buffer]
        known = {c.id: self._known.pop(c.id) for c in chunks if c.id in self._known}
        known |= self._stored_vectors(chunks)
        for d, c in self._buffer:
            if c.id in known:
                d.reused += 1
        started = time.perf_counter()
        vectors = self._store.vectors(chunks, known)
        self.embed_seconds += time.perf_counter() - started
        by_id = {c.id: v for c, v in zip(chunks, vectors, strict=True)}
        self._store.write_chunks(self.collection, chunks, by_id)
        for d, _ in self._buffer:
            d.unflushed -= 1
        self._buffer = []
        crash_point("batch")
        if self._on_batch:
            self._on_batch(len(chunks))
        self._commit_ready()

    def _stored_vectors(self, chunks: Sequence[Chunk]) -> dict[str, Sequence[float]]:
        """The vectors of the stored chunks `add` matched these to by text. A match whose
        stored chunk is no longer active (its document replaced meanwhile) is embedded."""
        wanted = {c.id: self._matched.pop(c.id) for c in chunks if c.id in self._matched}
        if not wanted:
            return {}
        got = self._store.get_with_embeddings(list(set(wanted.values())), self.collection)
        found = {chunk.id: vector for chunk, vector in got}
        return {new: found[old].tolist() for new, old in wanted.items() if old in found}

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
        by = current_actor().name  # the signed-in uploader, or cli:<os user>
        rows = [
            DocumentRow(d.source, d.doc_hash, d.title, d.chunks, now, d.size, by) for d in ready
        ]
        intents = [Intent(d.source, d.doc_hash, d.old_hash) for d in ready]
        self._store.commit(self.collection, rows, intents)
        for d in ready:
            self._docs.pop(d.source)
            self._active[d.source] = d.doc_hash
            if self._on_commit:
                self._on_commit(d.source, d.chunks, d.old_hash is not None, d.reused)


def _text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()
