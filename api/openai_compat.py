"""An OpenAI-compatible endpoint, so existing OpenAI clients work unchanged: the base URL
is this server's `/v1`, the api_key an `assistant tokens create` token, and `model` a
collection you may read (`default` or `assistant`: all of them). The last user message
is the question; answers come from the documents, with their sources both listed at the
end of the text and as a `sources` field beside `choices`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from api.context import Context, principal
from assistant.answering import Answer, Source
from assistant.auth.access import AccessDenied, askable, scope
from assistant.errors import AssistantError

ALL = ("default", "assistant")


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model: str = "default"
    messages: list[ChatMessage]
    stream: bool = False
    max_tokens: int | None = None  # accepted, like temperature: the server's settings rule
    temperature: float | None = None


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": None}}, status)


def _question(messages: list[ChatMessage]) -> str:
    for m in reversed(messages):
        if m.role == "user":
            if isinstance(m.content, list):
                return " ".join(
                    str(p.get("text", "")) for p in m.content if p.get("type") == "text"
                )
            return m.content or ""
    return ""


def sources_text(sources: list[Source]) -> str:
    if not sources:
        return ""
    lines = [f"[{s.number}] {Path(s.source).name} ({s.anchor})" for s in sources]
    return "\n\nSources:\n" + "\n".join(lines)


def router(ctx: Context) -> APIRouter:
    r = APIRouter(prefix="/v1")

    @r.get("/models")
    def models(request: Request) -> dict[str, Any]:
        """`default` (all collections you may read) and each collection by name."""
        who = principal(request)
        names = [*ALL[:1], *who.visible(askable(ctx.store))]
        return {
            "object": "list",
            "data": [
                {"id": n, "object": "model", "created": 0, "owned_by": "assistant"} for n in names
            ],
        }

    @r.post("/chat/completions", response_model=None)
    def completions(body: ChatRequest, request: Request) -> JSONResponse | StreamingResponse:
        """Answer the last user message from the documents (streamed with `stream`)."""
        who = principal(request)
        question = _question(body.messages).strip()
        if not question:
            return _error(400, "no user message with text", "invalid_request_error")
        try:
            collection = None if body.model in ("", *ALL) else body.model
            stream = ctx.assistant.ask(question, collections=scope(who, ctx.store, collection))
        except AccessDenied:
            return _error(404, f"The model '{body.model}' does not exist", "invalid_request_error")
        except AssistantError as exc:
            return _error(400, " ".join(str(exc).split()), "invalid_request_error")
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        base = {"id": cid, "created": created, "model": body.model}

        def finish(answer: Answer) -> list[dict[str, Any]]:
            if ctx.history is not None:
                ctx.history.record(who, answer)
            return [asdict(s) for s in answer.sources]

        if not body.stream:
            answer = stream.result()
            sources = finish(answer)
            return JSONResponse(
                {
                    **base,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": answer.text + sources_text(answer.sources),
                            },
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": answer.prompt_tokens,
                        "completion_tokens": 0,
                        "total_tokens": answer.prompt_tokens,
                    },
                    "sources": sources,
                }
            )

        def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
            data = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                **extra,
            }
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        def events() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            try:
                for piece in stream:
                    yield chunk({"content": piece})
                answer = stream.result()
                sources = finish(answer)
                yield chunk({"content": sources_text(answer.sources)})
                yield chunk({}, "stop", sources=sources)
            except AssistantError as exc:
                yield chunk({"content": f"\n\nerror: {' '.join(str(exc).split())}"}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return r
