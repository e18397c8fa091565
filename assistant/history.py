"""Per-user chat history: conversations of question/answer turns, in the same database.

A source keeps the collection it came from; when history is read back, sources from
collections the user can no longer read are dropped, so revoking a grant also hides what
was answered from it before.
"""

from __future__ import annotations

import builtins
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, exists, or_, select, update

from assistant.answering import Answer
from assistant.auth.access import Principal
from assistant.auth.db import Conversation, Database, Turn, rows_deleted, utcnow
from assistant.conversation import Turn as Memory

TITLE_CHARS = 80


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    title: str
    created_at: str
    updated_at: str
    turns: int


HIDDEN_ANSWER = "(hidden: this answer drew on a collection you may no longer read)"


class History:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        user: Principal,
        answer: Answer,
        conversation: str | None = None,
        *,
        stopped: bool = False,
        replace_last: bool = False,
    ) -> str:
        """Append a finished answer to `conversation`; its id. A new conversation when
        None, deleted meanwhile, or not this user's (never appends to someone else's).
        `stopped`: the asker stopped it, the text is what came before; `replace_last`:
        it replaces the conversation's last turn (asked again, or the question edited)."""
        sources = [asdict(s) for s in answer.sources]
        with self.db.session.begin() as s:
            conv = s.get(Conversation, conversation) if conversation else None
            if conv is None or conv.user_name != user.name:
                title = _title(answer.question)
                conv = Conversation(id=uuid.uuid4().hex, user_name=user.name, title=title)
                s.add(conv)
            conv.updated_at = utcnow()
            if replace_last and conv.turns:
                gone = conv.turns.pop()  # delete-orphan: the row goes
                if not conv.turns and conv.title == _title(gone.question):
                    conv.title = _title(answer.question)  # the title was its question
            conv.turns.append(
                Turn(
                    question=answer.question,
                    answer=answer.text,
                    sources_json=json.dumps(sources, ensure_ascii=False),
                    refused=answer.refused,
                    standalone_query=answer.standalone_query or None,
                    stopped=stopped or None,
                )
            )
            return conv.id

    def list(self, user: Principal, search: str = "") -> list[ConversationInfo]:
        """The user's conversations, newest first; with `search`, only those whose title,
        or a question or answer, holds it (case-insensitive)."""
        query = (
            select(Conversation)
            .where(Conversation.user_name == user.name)
            .order_by(Conversation.updated_at.desc())
        )
        if needle := search.strip():
            pattern = _contains(needle)
            in_turns = exists().where(
                Turn.conversation_id == Conversation.id,
                or_(
                    Turn.question.ilike(pattern, escape="\\"),
                    Turn.answer.ilike(pattern, escape="\\"),
                ),
            )
            query = query.where(or_(Conversation.title.ilike(pattern, escape="\\"), in_turns))
        with self.db.session() as s:
            rows = s.scalars(query)
            return [
                ConversationInfo(
                    c.id,
                    c.title,
                    c.created_at.isoformat(timespec="seconds"),
                    c.updated_at.isoformat(timespec="seconds"),
                    len(c.turns),
                )
                for c in rows
            ]

    def get(self, user: Principal, conversation: str) -> dict[str, Any] | None:
        """The conversation with its turns, or None if it is not this user's."""
        with self.db.session() as s:
            conv = s.get(Conversation, conversation)
            if conv is None or conv.user_name != user.name:
                return None
            turns = []
            for t in conv.turns:
                stored = json.loads(t.sources_json)
                sources = [s for s in stored if user.can_read(str(s.get("collection", "")))]
                # The answer was written from its sources: if one is no longer readable,
                # the text may quote it, so it goes too (the question is the user's own).
                hidden = len(sources) < len(stored)
                turns.append(
                    {
                        "question": t.question,
                        "answer": HIDDEN_ANSWER if hidden else t.answer,
                        "hidden": hidden,
                        "refused": t.refused,
                        "sources": sources,
                        "time": t.created_at.isoformat(timespec="seconds"),
                        "standalone_query": t.standalone_query,
                        "stopped": bool(t.stopped),
                    }
                )
            return {
                "id": conv.id,
                "title": conv.title,
                "created_at": conv.created_at.isoformat(timespec="seconds"),
                "updated_at": conv.updated_at.isoformat(timespec="seconds"),
                "turns": turns,
            }

    def memory(self, user: Principal, conversation: str) -> builtins.list[Memory] | None:
        """The conversation's turns as a follow-up's history (sources the user can no
        longer read left out), or None if it is not this user's."""
        found = self.get(user, conversation)
        return None if found is None else [Memory.from_dict(t) for t in found["turns"]]

    def rename(self, user: Principal, conversation: str, title: str) -> bool:
        title = " ".join(title.split())[:TITLE_CHARS]
        if not title:
            return False
        with self.db.session.begin() as s:
            done = s.execute(
                update(Conversation)
                .where(Conversation.id == conversation, Conversation.user_name == user.name)
                .values(title=title)
            )
            return bool(rows_deleted(done))

    def delete(self, user: Principal, conversation: str) -> bool:
        with self.db.session.begin() as s:
            done = s.execute(
                delete(Conversation).where(
                    Conversation.id == conversation, Conversation.user_name == user.name
                )
            )
            return bool(rows_deleted(done))


def _title(question: str) -> str:
    """A new conversation's title: its first question, on one line, cut short."""
    return " ".join(question.split())[:TITLE_CHARS]


def _contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    for char in ("\\", "%", "_"):
        text = text.replace(char, "\\" + char)
    return f"%{text}%"
