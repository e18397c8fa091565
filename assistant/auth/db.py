"""The tables and the engine. SQLAlchemy 2, so one URL switches SQLite for PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from assistant.auth.schema import add_missing_columns
from assistant.errors import AssistantError


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC: SQLite keeps no zone


class Base(DeclarativeBase):
    pass


class Membership(Base):
    __tablename__ = "memberships"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    groups: Mapped[list[Group]] = relationship(secondary="memberships", back_populates="members")


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    members: Mapped[list[User]] = relationship(secondary="memberships", back_populates="groups")


class Grant(Base):
    """A group may read a collection, or own it (read, upload, delete)."""

    __tablename__ = "grants"
    collection: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(8))  # "read" or "owner"


class ApiToken(Base):
    """Only the SHA-256 of a token is stored: a token is 256 random bits, so a slow hash
    adds nothing, and a leaked database gives no usable token."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    user: Mapped[User] = relationship()
    __table_args__ = (UniqueConstraint("user_id", "name"),)


class LoginSession(Base):
    """A browser login: the cookie holds the token, the table its hash and expiry."""

    __tablename__ = "login_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[User] = relationship()


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    turns: Mapped[list[Turn]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", order_by="Turn.id"
    )


class Turn(Base):
    """One question and its answer; sources as JSON, each naming its collection."""

    __tablename__ = "turns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    sources_json: Mapped[str] = mapped_column(Text, default="[]")
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # What a follow-up was searched as (added later: created on open, NULL in old rows).
    standalone_query: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The asker stopped the answer while it streamed: `answer` is what came before (added
    # later: NULL in old rows, which were never stopped).
    stopped: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    conversation: Mapped[Conversation] = relationship(back_populates="turns")


class Database:
    """The engine and a session factory; creates the tables on first use."""

    def __init__(self, url: str) -> None:
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (ArgumentError, ImportError) as exc:
            reason = str(exc).splitlines()[0]
            hint = " (PostgreSQL needs the `postgres` extra)" if "psycopg" in reason else ""
            raise AssistantError(f"database_url '{_redact(url)}': {reason}{hint}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            Path(self.engine.url.database or ".").parent.mkdir(parents=True, exist_ok=True)
        try:
            Base.metadata.create_all(self.engine)
            add_missing_columns(self.engine, Base.metadata)
        except OperationalError as exc:
            raise AssistantError(
                f"database '{_redact(url)}' cannot be opened: {str(exc.orig).splitlines()[0]}"
            ) from exc
        self.session = sessionmaker(self.engine, expire_on_commit=False)


def _sqlite_pragmas(conn: DBAPIConnection, _record: object) -> None:
    cur = conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")  # cascades: deleting a user deletes its tokens
    cur.execute("PRAGMA journal_mode=WAL")  # the CLI may write while the server reads
    cur.close()


def _redact(url: str) -> str:
    """A URL fit for an error message: never print a password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def rows_deleted(result: Result[Any]) -> int:
    """How many rows a DELETE removed. `Session.execute` is typed as returning the general
    `Result`; for a DML statement it is a `CursorResult`, which has the count."""
    return cast("CursorResult[Any]", result).rowcount
