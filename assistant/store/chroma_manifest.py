"""The manifest kept in the Chroma server itself, so every replica sees the same one.

With `chroma_url` set, many stateless assistants share one Chroma server, and a SQLite file
on one of them would be invisible to the others. So the manifest lives with the data: one
small collection (`MANIFEST_COLLECTION`, dimension 1, never queried by vector) holds one
record per thing, keyed by the collection it describes:

- `collection` (one per collection): its generation, bumped with every change;
- `recent` (one per collection): the sources changed lately, so a replica catches up on a
  change by reading their records, not every document's;
- `doc` (one per document): active doc_hash, title, chunks, ingested_at, and `active`;
- `intent` (one per document being written or removed): what to clean up after a kill;
- `lease` (while a writer runs): who writes the collection, until when.

The replace protocol is the SQLite one (see manifest.py). Its commit point, `flip`, is one
Chroma upsert holding each document's new record together with the generation bump: a
document's state is a single record, so it is old or new, never half. A removal turns
the record into a tombstone (`active: false`) in that same upsert, and the tombstone is
deleted afterwards; readers ignore tombstones, so a kill in between loses nothing.

Locks across hosts: Chroma has no compare-and-swap, so the writer lock is a lease record
(written, then read back after a pause; refreshed, and checked to be still ours, with every
manifest write). It refuses a second writer in practice, but two writers starting within
the same fraction of a second could both win: the rule stays one writer per collection at
a time (README, "Chroma as a server"). A lease left by a killed process expires after
`LEASE_SECONDS`, or at once when its holder was on this host and its process is gone.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.store.listing import DocumentQuery, select_page
from assistant.store.locks import lock_collection
from assistant.store.manifest import DocumentRow, Intent

MANIFEST_COLLECTION = "assistant-manifest"
MAX_RECENT = 1000  # sources the collection's record lists as changed lately (see `_bumped`)
LEASE_SECONDS = 120.0  # a writer refreshes its lease with every manifest write
LEASE_SETTLE = 0.3  # pause between writing a lease and reading it back
_VECTOR = [1.0]  # Chroma requires an embedding per record; the manifest never uses it


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


class ChromaManifest:
    """The `ManifestBackend` of a Chroma server (see the module docstring)."""

    def __init__(self, client: Any, local_dir: Path) -> None:
        self._client = client
        self._local_dir = local_dir  # this replica's own dir: the same-host flock
        self._col: Any = None
        self._lock = threading.RLock()
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._leases: set[str] = set()  # collections this process holds a lease on
        self._known: set[str] = set()  # collections seen tracked

    def _records(self) -> Any:
        if self._col is None:
            self._col = self._client.get_or_create_collection(
                MANIFEST_COLLECTION,
                embedding_function=None,
                metadata={"assistant": "manifest of active document versions"},
            )
        return self._col

    def close(self) -> None:
        pass  # the HTTP client holds nothing that needs closing

    def _get(self, collection: str, kind: str) -> list[dict[str, Any]]:
        got = self._records().get(
            where={"$and": [{"collection": collection}, {"kind": kind}]}, include=["metadatas"]
        )
        return [dict(m) for m in got["metadatas"]]

    def _write(
        self, collection: str, records: list[dict[str, Any]], delete: Iterable[str] = ()
    ) -> None:
        """Upsert records (one Chroma call per max batch) and delete ids; a writer holding
        the collection's lease first checks it is still its own and renews it."""
        with self._lock:
            if collection in self._leases:
                self._check_lease(collection)
                records = [*records, self._lease_record(collection)]
            col = self._records()
            step = self._client.get_max_batch_size()
            for start in range(0, len(records), step):
                batch = records[start : start + step]
                col.upsert(
                    ids=[r.pop("id") for r in batch],
                    metadatas=batch,
                    embeddings=[_VECTOR] * len(batch),
                )
            ids = list(delete)
            if ids:
                col.delete(ids=ids)

    # --- records ------------------------------------------------------------------------
    @staticmethod
    def _collection_record(collection: str, generation: int) -> dict[str, Any]:
        return {
            "id": f"collection:{_key(collection)}",
            "kind": "collection",
            "collection": collection,
            "generation": generation,
        }

    @staticmethod
    def _recent_record(collection: str, since: int, changes: dict[str, int]) -> dict[str, Any]:
        """The sources changed after generation `since`, each with the generation that last
        changed it: what a replica reads to catch up. Apart from the collection's record,
        which every question reads and which so stays small."""
        return {
            "id": f"recent:{_key(collection)}",
            "kind": "recent",
            "collection": collection,
            "since": since,
            "changes": json.dumps(changes),
        }

    @staticmethod
    def _doc_id(collection: str, source: str) -> str:
        return f"doc:{_key(collection, source)}"

    def _doc_record(self, collection: str, row: DocumentRow, active: bool = True) -> dict[str, Any]:
        return {
            "id": self._doc_id(collection, row.source),
            "kind": "doc",
            "collection": collection,
            "active": active,
            **row.__dict__,
            "size": -1 if row.size is None else row.size,  # Chroma holds no None
        }

    @staticmethod
    def _intent_record(collection: str, i: Intent) -> dict[str, Any]:
        new, old = i.new_hash or "", i.old_hash or ""
        return {
            "id": f"intent:{_key(collection, i.source, new, old)}",
            "kind": "intent",
            "collection": collection,
            "source": i.source,
            "new_hash": new,
            "old_hash": old,
        }

    # --- collections -------------------------------------------------------------------
    def generation(self, collection: str) -> int:
        got = self._records().get(ids=[f"collection:{_key(collection)}"], include=["metadatas"])
        return int(got["metadatas"][0]["generation"]) if got["ids"] else -1

    def _state(self, collection: str) -> tuple[int, dict[str, Any] | None]:
        """The collection's generation (-1: none) and its `recent` record, in one request."""
        ids = [f"collection:{_key(collection)}", f"recent:{_key(collection)}"]
        got = self._records().get(ids=ids, include=["metadatas"])
        found = {str(m["kind"]): dict(m) for m in got["metadatas"]}
        own = found.get("collection")
        return (int(own["generation"]) if own else -1), found.get("recent")

    def generations(self, collections: Sequence[str]) -> dict[str, int]:
        """Each collection's generation (-1: none), in one request."""
        names = list(dict.fromkeys(collections))
        got = self._records().get(
            ids=[f"collection:{_key(c)}" for c in names], include=["metadatas"]
        )
        found = {str(m["collection"]): int(m["generation"]) for m in got["metadatas"]}
        return {c: found.get(c, -1) for c in names}

    def changed_since(self, collection: str, generation: int) -> tuple[int, list[str]] | None:
        """(the generation now, the sources changed after `generation`), or None when the
        list no longer reaches back that far (then the caller starts its map afresh)."""
        now, recent = self._state(collection)
        if recent is None or not int(recent["since"]) <= generation <= now:
            return None
        changes: dict[str, int] = json.loads(str(recent["changes"]))
        return now, [s for s, g in changes.items() if g > generation]

    def known(self, collection: str) -> bool:
        """Cached once true (readers ask on every call; only `forget` un-tracks)."""
        if collection not in self._known and self.generation(collection) >= 0:
            self._known.add(collection)
        return collection in self._known

    def _bumped(self, collection: str, changed: Sequence[str] | None) -> list[dict[str, Any]]:
        """The collection's records at its next generation: its own, and the list of recent
        changes with `changed` added (None: not known, as in an adoption; the list starts
        afresh). The list keeps the latest `MAX_RECENT` sources."""
        now, recent = self._state(collection)
        # A new record starts at the clock (ms), not 0: a collection dropped and made again
        # must not repeat a generation that a replica still has cached.
        now = now if now >= 0 else int(time.time() * 1000)
        new = now + 1
        changes: dict[str, int]
        if changed is None:
            since, changes = new, {}
        elif recent is None:  # a new collection, or one written before the list
            since, changes = now, {}
        else:
            since, changes = int(recent["since"]), json.loads(str(recent["changes"]))
        changes.update(dict.fromkeys(changed or (), new))
        if len(changes) > MAX_RECENT:
            by_age = sorted(changes.items(), key=lambda kv: kv[1])
            dropped, kept = by_age[:-MAX_RECENT], by_age[-MAX_RECENT:]
            since, changes = max(since, dropped[-1][1]), dict(kept)
        return [
            self._collection_record(collection, new),
            self._recent_record(collection, since, changes),
        ]

    def adopt(self, collection: str, rows: Iterable[DocumentRow]) -> None:
        records = [self._doc_record(collection, r) for r in rows]
        self._write(collection, [*records, *self._bumped(collection, None)])

    def forget(self, collection: str) -> None:
        self._known.discard(collection)
        with self._lock:
            if collection in self._leases:
                self._check_lease(collection)
            ids = self._records().get(where={"collection": collection}, include=[])["ids"]
            keep = f"lease:{_key(collection)}" if collection in self._leases else None
            ids = [i for i in ids if i != keep]
            if ids:
                self._records().delete(ids=ids)

    def collections(self) -> dict[str, tuple[int, int]]:
        got = self._records().get(
            where={"kind": {"$in": ["collection", "doc"]}}, include=["metadatas"]
        )
        out: dict[str, list[int]] = {}
        for m in got["metadatas"]:
            if m["kind"] == "collection":
                out.setdefault(str(m["collection"]), [0, 0])
        for m in got["metadatas"]:
            if m["kind"] == "doc" and m["active"] and m["collection"] in out:
                counts = out[str(m["collection"])]
                counts[0] += 1
                counts[1] += int(m["chunks"])
        return {name: (docs, chunks) for name, (docs, chunks) in out.items()}

    # --- documents ---------------------------------------------------------------------
    def documents(self, collection: str) -> list[DocumentRow]:
        rows = [
            DocumentRow(
                str(m["source"]),
                str(m["doc_hash"]),
                str(m["title"]),
                int(m["chunks"]),
                str(m["ingested_at"]),
                None if int(m.get("size", -1)) < 0 else int(m["size"]),
                str(m.get("ingested_by", "")),
            )
            for m in self._get(collection, "doc")
            if m["active"]
        ]
        return sorted(rows, key=lambda r: r.source)

    def page(self, collection: str, query: DocumentQuery) -> tuple[list[DocumentRow], int]:
        """Chroma sorts nothing: every record is read, then searched and sorted here."""
        return select_page(self.documents(collection), query)

    def active(self, collection: str) -> dict[str, str]:
        return {r.source: r.doc_hash for r in self.documents(collection)}

    def active_of(self, collection: str, sources: Iterable[str]) -> dict[str, str]:
        """source -> active doc_hash for just these sources: their records read by id (a
        document's record id derives from its collection and source), not by a filter."""
        wanted = sorted(set(sources))
        out: dict[str, str] = {}
        for start in range(0, len(wanted), 1000):
            ids = [self._doc_id(collection, s) for s in wanted[start : start + 1000]]
            got = self._records().get(ids=ids, include=["metadatas"])
            for m in got["metadatas"]:
                if m and m.get("active"):
                    out[str(m["source"])] = str(m["doc_hash"])
        return out

    def chunk_total(self, collection: str) -> int:
        return sum(r.chunks for r in self.documents(collection))

    # --- the replace protocol ----------------------------------------------------------
    def intend(self, collection: str, intents: Iterable[Intent]) -> None:
        self._write(collection, [self._intent_record(collection, i) for i in intents])

    def flip(self, collection: str, rows: Iterable[DocumentRow], removed: Iterable[str]) -> None:
        """The commit point: new versions and tombstones in one upsert with the new
        generation; tombstones deleted after (readers already ignore them)."""
        tombstones = [
            self._doc_record(collection, DocumentRow(s, "", "", 0, ""), active=False)
            for s in removed
        ]
        records = [self._doc_record(collection, r) for r in rows] + tombstones
        dead = [t["id"] for t in tombstones]
        changed = [str(r["source"]) for r in records]
        self._write(collection, [*records, *self._bumped(collection, changed)])
        if dead:
            self._write(collection, [], delete=dead)

    def pending(self, collection: str) -> list[Intent]:
        return [
            Intent(str(m["source"]), m["new_hash"] or None, m["old_hash"] or None)
            for m in self._get(collection, "intent")
        ]

    def done(self, collection: str, intents: Iterable[Intent]) -> None:
        ids = [self._intent_record(collection, i)["id"] for i in intents]
        if ids:
            self._write(collection, [], delete=ids)

    # --- the writer lock: this host's flock, and a lease in the server -------------------
    def lock(self, collection: str) -> Any:
        local = lock_collection(self._local_dir, collection)
        try:
            self._claim(collection)
        except BaseException:
            local.close()
            raise
        return _Held(self, collection, local)

    def _lease_record(self, collection: str) -> dict[str, Any]:
        return {
            "id": f"lease:{_key(collection)}",
            "kind": "lease",
            "collection": collection,
            "owner": self._owner,
            "expires": time.time() + LEASE_SECONDS,
        }

    def _lease(self, collection: str) -> dict[str, Any] | None:
        got = self._records().get(ids=[f"lease:{_key(collection)}"], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else None

    def _claim(self, collection: str) -> None:
        with self._lock:
            held = self._lease(collection)
            if held is not None and held["owner"] != self._owner and _alive(held):
                raise _busy(collection, held)
            record = self._lease_record(collection)
            self._records().upsert(ids=[record.pop("id")], metadatas=[record], embeddings=[_VECTOR])
            time.sleep(LEASE_SETTLE)  # a writer that raced us has written by now
            self._check_lease(collection)
            self._leases.add(collection)

    def _check_lease(self, collection: str) -> None:
        held = self._lease(collection)
        if held is None or held["owner"] != self._owner:
            self._leases.discard(collection)
            raise _busy(collection, held)

    def release(self, collection: str) -> None:
        with self._lock:
            if collection not in self._leases:
                return
            self._leases.discard(collection)
            held = self._lease(collection)
            if held is not None and held["owner"] == self._owner:
                self._records().delete(ids=[f"lease:{_key(collection)}"])


class _Held:
    """A held writer lock: close() releases the lease, then the flock. Never raises for
    an unreachable server, so it cannot hide the error that ended the writer."""

    def __init__(self, manifest: ChromaManifest, collection: str, local: Any) -> None:
        self._manifest, self._collection, self._local = manifest, collection, local

    def close(self) -> None:
        try:
            self._manifest.release(self._collection)
        except AssistantError:
            pass  # server gone: the lease expires by itself (or at once, once we exit)
        finally:
            self._local.close()


def _alive(lease: dict[str, Any]) -> bool:
    """Whether a lease still binds: not expired, and (when its holder ran on this host)
    its process still exists."""
    if float(lease["expires"]) < time.time():
        return False
    host, _, rest = str(lease["owner"]).partition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(rest.partition(":")[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def _busy(collection: str, lease: dict[str, Any] | None) -> AssistantError:
    if lease is None:
        return AssistantError(
            f"another ingest into collection '{collection}' took over its lease; wait for it"
            " to finish, then run again"
        )
    host, _, rest = str(lease["owner"]).partition(":")
    until = datetime.fromtimestamp(float(lease["expires"]), UTC).isoformat(timespec="seconds")
    return AssistantError(
        f"another ingest into collection '{collection}' is running (host {host}, pid"
        f" {rest.partition(':')[0]}, lease until {until}); wait for it to finish"
    )
