"""Thumbs up or down on an answer, with an optional comment, kept per user in the users
database (SQLite or PostgreSQL), so a bad answer can become a regression case
(`assistant eval add SUITE --from-feedback ID`).

The table is created when the log opens, so a database made before feedback existed gets
it on the next start. Admins see everyone's feedback; other users their own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import DateTime, Integer, String, Table, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from assistant.answering import Answer
from assistant.auth.access import Principal
from assistant.auth.db import Base, Database, utcnow
from assistant.errors import AssistantError

Vote = Literal["up", "down"]
COMMENT_CHARS = 2000


class FeedbackRow(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    vote: Mapped[str] = mapped_column(String(4))  # "up" or "down"
    comment: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    sources_json: Mapped[str] = mapped_column(Text, default="[]")
    model: Mapped[str] = mapped_column(String(200), default="")
    collection: Mapped[str] = mapped_column(String(200), default="")  # as asked ("a,b": several)


@dataclass(frozen=True)
class Feedback:
    id: int
    user: str
    time: str
    vote: str
    comment: str
    question: str
    answer: str
    sources: list[dict[str, Any]]
    model: str
    collection: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _feedback(row: FeedbackRow) -> Feedback:
    return Feedback(
        row.id,
        row.user_name,
        row.created_at.isoformat(timespec="seconds"),
        row.vote,
        row.comment,
        row.question,
        row.answer,
        json.loads(row.sources_json),
        row.model,
        row.collection,
    )


def answer_record(answer: Answer) -> dict[str, Any]:
    """What feedback keeps of an answer: question, text, sources and model."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "sources": [asdict(s) for s in answer.sources],
        "model": answer.model,
        "collection": ",".join(sorted({s.collection for s in answer.sources if s.collection})),
    }


class FeedbackLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        FeedbackRow.metadata.create_all(db.engine, tables=[cast(Table, FeedbackRow.__table__)])

    def add(
        self, user: Principal, vote: Vote, record: dict[str, Any], comment: str = ""
    ) -> Feedback:
        """Store a vote on an answer (`record`: see `answer_record`)."""
        if vote not in ("up", "down"):
            raise AssistantError(f"a vote is 'up' or 'down', not '{vote}'")
        row = FeedbackRow(
            user_name=user.name,
            vote=vote,
            comment=comment.strip()[:COMMENT_CHARS],
            question=str(record.get("question", "")),
            answer=str(record.get("answer", "")),
            sources_json=json.dumps(record.get("sources", []), ensure_ascii=False, default=str),
            model=str(record.get("model", ""))[:200],
            collection=str(record.get("collection", ""))[:200],
        )
        with self.db.session.begin() as s:
            s.add(row)
            s.flush()
            return _feedback(row)

    def comment(self, user: Principal, feedback_id: int, comment: str) -> Feedback | None:
        """Set the comment of one's own feedback; None if there is no such feedback."""
        with self.db.session.begin() as s:
            row = s.get(FeedbackRow, feedback_id)
            if row is None or row.user_name != user.name:
                return None
            row.comment = comment.strip()[:COMMENT_CHARS]
            return _feedback(row)

    def list(
        self,
        user: Principal | None = None,
        *,
        vote: Vote | None = None,
        collection: str | None = None,
        since: datetime | None = None,
    ) -> list[Feedback]:
        """Newest first. `user`: an admin sees all, anyone else their own; None (the CLI
        on the server) sees all. `collection` matches one of the collections asked."""
        query = select(FeedbackRow).order_by(FeedbackRow.id.desc())
        if user is not None and not user.is_admin:
            query = query.where(FeedbackRow.user_name == user.name)
        if vote is not None:
            query = query.where(FeedbackRow.vote == vote)
        if since is not None:
            query = query.where(FeedbackRow.created_at >= since)
        with self.db.session() as s:
            found = [_feedback(r) for r in s.scalars(query)]
        if collection:
            found = [f for f in found if collection in f.collection.split(",")]
        return found

    def get(self, feedback_id: int, user: Principal | None = None) -> Feedback:
        with self.db.session() as s:
            row = s.get(FeedbackRow, feedback_id)
            visible = row is not None and (
                user is None or user.is_admin or row.user_name == user.name
            )
            if row is None or not visible:
                raise AssistantError(f"no feedback with id {feedback_id}")
            return _feedback(row)
