"""The audit trail: append-only records in the users database, each carrying the hash of
the one before it, so an edited, inserted or deleted record breaks the chain.

A record's hash is SHA-256 over the previous hash and the record's canonical JSON (its
id included, so a record moved or renumbered breaks it too). Two writers (the server and
a CLI command) chaining onto the same record collide on the unique `prev_hash` and the
loser retries on the new head, so the chain stays one line across processes without a
database-specific lock. Deleting the newest records leaves a valid shorter chain: compare
the head `assistant audit verify` prints with one kept elsewhere (a SIEM export) to see
that. Retention deletes the oldest records and says so in a `audit.purge` record naming
the hash the kept chain starts from, so a purge is told apart from a deletion.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from assistant.audit.actor import current_actor
from assistant.auth.db import Base, Database, utcnow
from assistant.errors import AssistantError

GENESIS = "0" * 64
RETRIES = 20
PAGE = 1000  # records read per query when verifying or exporting


class AuditRecord(Base):
    __tablename__ = "audit_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str] = mapped_column(String(512), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds") + "Z"


def record_dict(r: AuditRecord) -> dict[str, Any]:
    """A record as exported (JSONL) and as hashed (without `hash`)."""
    return {
        "id": r.id,
        "at": _iso(r.at),
        "actor": r.actor,
        "address": r.address,
        "action": r.action,
        "target": r.target,
        "outcome": r.outcome,
        "detail": json.loads(r.detail),
        "prev_hash": r.prev_hash,
        "hash": r.hash,
    }


def chain_hash(r: AuditRecord) -> str:
    fields = record_dict(r)
    fields.pop("hash")
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((r.prev_hash + canonical).encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    records: int
    head: str  # the newest record's hash: keep it elsewhere to detect a cut-off tail
    problem: str = ""  # the first break found, naming the record


class Trail:
    """Appends, reads, verifies and purges audit records."""

    def __init__(self, db: Database, *, keep_texts: bool = False) -> None:
        self.db = db
        self.keep_texts = keep_texts  # may question and answer text be recorded
        Base.metadata.tables[AuditRecord.__tablename__].create(db.engine, checkfirst=True)
        self.session = _relaxed_sessions(db)
        self._postgres = db.engine.dialect.name == "postgresql"
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None  # (id, hash) of the newest, if known

    def record(
        self,
        action: str,
        target: str = "",
        *,
        outcome: str = "ok",
        actor: str | None = None,
        address: str | None = None,
        **detail: Any,
    ) -> None:
        """Append one record; who acted defaults to the current actor (see actor.py). A
        trail that cannot be written raises AssistantError: the action it would record
        fails with that one line rather than happen unrecorded."""
        who = current_actor()
        row = dict(
            actor=(actor if actor is not None else who.name)[:128],
            address=(address if address is not None else who.address)[:64],
            action=action,
            target=target[:512],
            outcome=outcome,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
        )
        with self._lock:
            for _ in range(RETRIES):
                try:
                    self._append(row)
                    return
                except IntegrityError:  # another process appended first: chain onto it
                    self._head = None
                except OperationalError as exc:  # nothing happens unrecorded: refuse instead
                    reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
                    raise AssistantError(f"the audit trail cannot be written: {reason}") from exc
            raise AssistantError("the audit trail cannot be written: too many writers at once")

    def _append(self, row: dict[str, Any]) -> None:
        with self.session.begin() as s:
            if self._postgres:
                s.execute(text("SET LOCAL synchronous_commit TO OFF"))
            if self._head is None:
                last = s.scalars(select(AuditRecord).order_by(AuditRecord.id.desc())).first()
                self._head = (last.id, last.hash) if last else (0, GENESIS)
            last_id, last_hash = self._head
            rec = AuditRecord(id=last_id + 1, at=utcnow(), prev_hash=last_hash, **row)
            rec.hash = chain_hash(rec)
            s.add(rec)
        self._head = (rec.id, rec.hash)

    # --- reading -------------------------------------------------------------------------
    def query(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Matching records, newest first. `action` matches a prefix ("document" finds
        document.download and document.delete)."""
        q = select(AuditRecord).order_by(AuditRecord.id.desc())
        if user:
            q = q.where(AuditRecord.actor == user)
        if action:
            q = q.where(AuditRecord.action.startswith(action, autoescape=True))
        if since:
            q = q.where(AuditRecord.at >= since)
        if limit:
            q = q.limit(limit)
        with self.session() as s:
            return [record_dict(r) for r in s.scalars(q)]

    def all(self) -> Iterator[AuditRecord]:
        """Every record, oldest first, a page at a time (the trail may be long)."""
        after = 0
        while True:
            with self.session() as s:
                page = list(
                    s.scalars(
                        select(AuditRecord)
                        .where(AuditRecord.id > after)
                        .order_by(AuditRecord.id)
                        .limit(PAGE)
                    )
                )
            if not page:
                return
            yield from page
            after = page[-1].id

    def verify(self) -> Verdict:
        prev, count, expected_start = None, 0, GENESIS
        for r in self.all():
            if prev is None and r.prev_hash != GENESIS:
                expected_start = self._purged_up_to()
            wanted = prev.hash if prev is not None else expected_start
            if r.prev_hash != wanted:
                return Verdict(False, count, "", _broken(r, prev))
            if chain_hash(r) != r.hash:
                return Verdict(
                    False, count, "", f"record {r.id} was edited: its hash does not match"
                )
            prev, count = r, count + 1
        return Verdict(True, count, prev.hash if prev else GENESIS)

    def _purged_up_to(self) -> str:
        """The hash the oldest kept record may chain onto: the last purge record says."""
        with self.session() as s:
            purge = s.scalars(
                select(AuditRecord)
                .where(AuditRecord.action == "audit.purge")
                .order_by(AuditRecord.id.desc())
            ).first()
        return str(json.loads(purge.detail).get("chain_starts_at", "")) if purge else GENESIS

    # --- retention -----------------------------------------------------------------------
    def purge(self, days: float) -> int:
        """Delete records older than `days`, then record that it did (and from where the
        kept chain starts). Returns how many went."""
        cutoff = utcnow() - timedelta(days=days)
        with self.session() as s:
            last_old = s.scalars(
                select(AuditRecord).where(AuditRecord.at < cutoff).order_by(AuditRecord.id.desc())
            ).first()
        if last_old is None:
            return 0
        with self._lock, self.session.begin() as s:
            old = AuditRecord.id <= last_old.id
            gone = int(s.scalar(select(func.count()).select_from(AuditRecord).where(old)) or 0)
            s.execute(delete(AuditRecord).where(old))
            if self._head and self._head[0] <= last_old.id:
                self._head = None
        self.record(
            "audit.purge",
            outcome="ok",
            removed=gone,
            older_than_days=days,
            chain_starts_at=last_old.hash,
        )
        return gone


def _relaxed_sessions(db: Database) -> sessionmaker[Session]:
    """Sessions whose commits wait for the database's log write, not for the disk: an
    append costs ~0.3 ms instead of an fsync (~8 ms here). A crash of the process loses
    nothing; a power cut may lose the last records written, never the chain's integrity
    (SQLite WAL with synchronous=NORMAL; PostgreSQL's synchronous_commit off, per
    transaction). The users tables keep their full durability."""
    if db.engine.dialect.name != "sqlite":
        return db.session
    engine = create_engine(db.engine.url)

    @event.listens_for(engine, "connect")
    def pragmas(conn, _record) -> None:  # type: ignore[no-untyped-def]
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()

    return sessionmaker(engine, expire_on_commit=False)


def _broken(r: AuditRecord, prev: AuditRecord | None) -> str:
    if prev is None:
        return f"record {r.id} is the oldest kept, but no purge record explains what came before"
    if r.id != prev.id + 1:
        return f"records {prev.id + 1} to {r.id - 1} were deleted (record {r.id} names another)"
    return f"record {r.id} does not chain onto record {prev.id} (one of them was replaced)"
