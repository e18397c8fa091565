"""An OpenAI-compatible endpoint, so existing OpenAI clients work unchanged: the base URL
is this server's `/v1`, the api_key an `assistant tokens create` token, and `model` a
collection you may read (`default` or `assistant`: all of them). The last user message
is the question, and the user and assistant messages before it are the conversation it
follows up (searched as a follow-up, and in the prompt as far as they fit). System
messages from the client are ignored: the assistant's own system prompt, which keeps
answers to the documents, is the only one. Answers come from the documents, with their
sources both listed at the end of the text and as a `sources` field beside `choices`,
and the query the documents were searched with as `standalone_query`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from api.admit import admit, leave, released
from api.context import Context, Ctx, Who
from assistant.answering import Answer, AnswerStream, Source
from assistant.auth import Principal
from assistant.auth.access import AccessDenied, askable, scope
from assistant.conversation import Turn, turns_from_messages
from assistant.errors import AssistantError, one_line

ALL = ("default", "assistant")

router = APIRouter(prefix="/v1")


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model: str = "default"
    messages: list[ChatMessage]
    stream: bool = False
    max_tokens: int | None = None  # accepted, like temperature: the server's settings rule
    temperature: float | None = None


def _error(
    status: int, message: str, kind: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "code": None}}
    return JSONResponse(body, status, headers=headers)


def _text(m: ChatMessage) -> str:
    if isinstance(m.content, list):
        return " ".join(str(p.get("text", "")) for p in m.content if p.get("type") == "text")
    return m.content or ""


def _conversation(messages: list[ChatMessage]) -> tuple[list[Turn], str]:
    """The earlier turns and the last user question (system messages left out)."""
    return turns_from_messages([{"role": m.role, "content": _text(m)} for m in messages])


def sources_text(sources: list[Source]) -> str:
    if not sources:
        return ""
    lines = [f"[{s.number}] {Path(s.source).name} ({s.anchor})" for s in sources]
    return "\n\nSources:\n" + "\n".join(lines)


@router.get("/models")
def models(ctx: Ctx, who: Who) -> dict[str, Any]:
    """`default` (all collections you may read) and each collection by name."""
    names = [*ALL[:1], *who.visible(askable(ctx.store))]
    return {
        "object": "list",
        "data": [
            {"id": n, "object": "model", "created": 0, "owned_by": "assistant"} for n in names
        ],
    }


@router.post("/chat/completions", response_model=None)
def completions(body: ChatRequest, ctx: Ctx, who: Who) -> JSONResponse | StreamingResponse:
    """Answer the last user message from the documents, as a follow-up of the messages
    before it (streamed with `stream`)."""
    history, question = _conversation(body.messages)
    question = question.strip()
    if not question:
        return _error(400, "no user message with text", "invalid_request_error")
    try:
        admit(ctx, who)
    except HTTPException as exc:
        message = exc.detail["error"] if isinstance(exc.detail, dict) else str(exc.detail)
        kind = "rate_limit_error" if exc.status_code == 429 else "server_error"
        return _error(exc.status_code, message, kind, exc.headers)
    try:
        collection = None if body.model in ("", *ALL) else body.model
        allowed = scope(who, ctx.store, collection)
        stream = ctx.assistant.ask(question, collections=allowed, history=history, user=who.name)
    except AccessDenied:
        leave(ctx, who)
        return _error(404, f"The model '{body.model}' does not exist", "invalid_request_error")
    except AssistantError as exc:
        leave(ctx, who)
        return _error(400, one_line(exc), "invalid_request_error")
    reply = _Reply(ctx, who, body.model)
    if not body.stream:
        try:
            return JSONResponse(reply.whole(stream.result()))
        finally:
            leave(ctx, who)
    events = released(ctx, who, reply.events(stream))
    return StreamingResponse(events, media_type="text/event-stream")


class _Reply:
    """One completion in OpenAI's shapes: a whole `chat.completion`, or SSE chunks."""

    def __init__(self, ctx: Context, who: Principal, model: str) -> None:
        self.ctx, self.who = ctx, who
        self.base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "created": int(time.time()),
            "model": model,
        }

    def finish(self, answer: Answer) -> list[dict[str, Any]]:
        if self.ctx.history is not None:
            self.ctx.history.record(self.who, answer)
        return [asdict(s) for s in answer.sources]

    def whole(self, answer: Answer) -> dict[str, Any]:
        sources = self.finish(answer)
        message = {"role": "assistant", "content": answer.text + sources_text(answer.sources)}
        return {
            **self.base,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": 0,
                "total_tokens": answer.prompt_tokens,
            },
            "sources": sources,
            "standalone_query": answer.standalone_query,
            "unsupported": [asdict(c) for c in answer.unsupported],
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        data = {
            **self.base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    def events(self, stream: AnswerStream) -> Iterator[str]:
        yield self.chunk({"role": "assistant", "content": ""})
        try:
            for piece in stream:
                yield self.chunk({"content": piece})
            answer = stream.result()
            sources = self.finish(answer)
            yield self.chunk({"content": sources_text(answer.sources)})
            unsupported = [asdict(c) for c in answer.unsupported]
            query = answer.standalone_query
            yield self.chunk(
                {}, "stop", sources=sources, standalone_query=query, unsupported=unsupported
            )
        except AssistantError as exc:
            yield self.chunk({"content": f"\n\nerror: {one_line(exc)}"}, "stop")
        yield "data: [DONE]\n\n"
