"""Each question on the audit trail: who asked, from where, which collections were
searched, which sources came back and which model answered; the question and answer
text only when `audit_texts` allows.

`AuditedAssistant` records at `ask` time, where the asker is known in every caller (the
API's request, the page's Gradio event, the CLI): a stream is iterated later, often on
another thread, where the asker may not be. The answer text, known only when the stream
ends, comes through the `on_answer` hook and is matched to its asker by the answer."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

from assistant.answering import Answer, AnswerStream, Assistant, OnAnswer
from assistant.audit.actor import Actor, current_actor
from assistant.audit.trail import Trail


def sources_of(answer: Answer) -> list[dict[str, Any]]:
    return [
        {"collection": s.collection, "source": s.source, "anchor": s.anchor} for s in answer.sources
    ]


class AuditedAssistant(Assistant):
    """An `Assistant` whose every question lands on the trail."""

    def __init__(self, *args: Any, trail: Trail, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trail = trail
        self._askers: dict[int, Actor] = {}  # id(answer) -> asker, while the answer lives
        if trail.keep_texts:
            self.on_answer = _both(self.on_answer, self._answered)

    def ask(
        self,
        question: str,
        *,
        collection: str | None = None,
        collections: Sequence[str] | None = None,
        **options: Any,
    ) -> AnswerStream:
        """`Assistant.ask`, recorded; `options` pass through unchanged (k, user, ...)."""
        stream = super().ask(question, collection=collection, collections=collections, **options)
        actor = current_actor()
        searched = (
            list(collections)
            if collections is not None
            else [collection or self.retriever.store.default_collection]
        )
        texts = {"question": question} if self.trail.keep_texts else {}
        self.trail.record(
            "ask",
            ",".join(searched),
            actor=actor.name,
            address=actor.address,
            collections=searched,
            sources=sources_of(stream.answer),
            model=stream.answer.model,
            refused=stream.answer.refused,
            **texts,
        )
        if self.trail.keep_texts:
            key = id(stream.answer)
            self._askers[key] = actor
            weakref.finalize(stream.answer, self._askers.pop, key, None)
        return stream

    def _answered(self, answer: Answer, asked: str, user: str = "") -> None:
        actor = self._askers.pop(id(answer), None) or current_actor()
        self.trail.record(
            "answer",
            asked,
            actor=actor.name,
            address=actor.address,
            question=answer.question,
            answer=answer.text,
            cited=[s.number for s in answer.sources if s.cited],
        )


def _both(first: OnAnswer | None, second: OnAnswer) -> OnAnswer:
    if first is None:
        return second

    def both(answer: Answer, asked: str, user: str) -> None:
        first(answer, asked, user)
        second(answer, asked, user)

    return both
