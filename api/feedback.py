"""Feedback on answers over HTTP: `POST /api/feedback` stores a vote for the signed-in
user, `GET /api/feedback` lists it (admins: everyone's; others: their own)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.context import Context, Ctx, Who
from assistant.feedback import COMMENT_CHARS, FeedbackLog

router = APIRouter(prefix="/api")


class FeedbackRequest(BaseModel):
    vote: Literal["up", "down"]
    question: str = Field(min_length=1, max_length=4000)
    answer: str = Field("", max_length=20_000)
    sources: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    model: str = Field("", max_length=200)
    collection: str = Field("", max_length=200)
    comment: str = Field("", max_length=COMMENT_CHARS)


def _log(ctx: Context) -> FeedbackLog:
    if ctx.feedback is None:
        raise HTTPException(403, "feedback is not enabled on this server")
    return ctx.feedback


@router.post("/feedback")
def give(body: FeedbackRequest, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Vote on an answer (as `/api/ask` returned it), with an optional comment."""
    record = body.model_dump(exclude={"vote", "comment"})
    return _log(ctx).add(who, body.vote, record, body.comment).to_dict()


@router.get("/feedback")
def listing(
    ctx: Ctx,
    who: Who,
    vote: Literal["up", "down"] | None = None,
    collection: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Feedback, newest first: everyone's for an admin, your own otherwise."""
    found = _log(ctx).list(who, vote=vote, collection=collection, since=since)
    return [f.to_dict() for f in found]
