"""The JSON API under /api: ask (streamed as NDJSON), collections, documents (list,
download, upload, delete) and chat history. Each route runs under the asker's
permissions; a collection they may not read answers 404, exactly like a missing one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, File, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.admit import admit, leave, released
from api.context import Context, Ctx, Who
from assistant import transcript
from assistant.answering import Answer, AnswerStream
from assistant.auth import Principal
from assistant.auth.access import AccessDenied, ReadOnly, askable, check_read, check_write, scope
from assistant.conversation import Turn
from assistant.errors import AssistantError, one_line
from assistant.llm.fifo import Queued, with_places
from assistant.scratch import scratch_dir
from assistant.store import PAGE_SIZE, DocumentQuery
from assistant.store.listing import MAX_PAGE_SIZE, MAX_SEARCH_CHARS, Sort
from assistant.uploads import Uploads, collection_problem, delete_documents, name_problem, run
from assistant.uploads import screen as screen_uploads

router = APIRouter(prefix="/api")


class EarlierTurn(BaseModel):
    question: str = Field(min_length=1, max_length=20000)
    answer: str = Field("", max_length=20000)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, description="at most max_question_chars long")
    collection: str | None = Field(None, description="one collection; empty = all you may read")
    conversation: str | None = Field(
        None,
        description="continue this conversation of yours (its earlier turns are the"
        " question's history); the `done` line names the one the answer was added to",
    )
    turns: list[EarlierTurn] | None = Field(
        None,
        max_length=50,
        description="earlier turns, oldest first, when there is no"
        " stored conversation (ignored with `conversation`)",
    )
    k: int | None = Field(None, ge=1, le=50)


def answer_json(answer: Answer, conversation: str | None = None) -> dict[str, Any]:
    return {
        "answer": answer.text,
        "refused": answer.refused,
        "model": answer.model,
        "sources": [asdict(s) for s in answer.sources],
        "timings": answer.timings,
        "conversation": conversation,
        "standalone_query": answer.standalone_query,
        "turns_used": answer.turns_used,
        "answer_style": answer.answer_style,
        "unsupported": [asdict(c) for c in answer.unsupported],
    }


def start(
    ctx: Context,
    who: Principal,
    question: str,
    collection: str | None,
    k: int | None = None,
    history: Sequence[Turn] = (),
) -> AnswerStream:
    """Begin an answer over the collections `who` may read (one, or all)."""
    try:
        collections = scope(who, ctx.store, collection)
        return ctx.assistant.ask(
            question, collections=collections, k=k, history=history, user=who.name
        )
    except AccessDenied as exc:
        raise HTTPException(404, str(exc)) from exc
    except AssistantError as exc:
        raise HTTPException(400, str(exc)) from exc


def _readable(ctx: Context, who: Principal, collection: str) -> str:
    try:
        check_read(who, collection, askable(ctx.store))
    except AccessDenied as exc:
        raise HTTPException(404, str(exc)) from exc
    return collection


def _writable(who: Principal, collection: str) -> str:
    try:
        check_write(who, collection)
    except ReadOnly as exc:
        raise HTTPException(403, str(exc)) from exc
    except AccessDenied as exc:
        raise HTTPException(404, str(exc)) from exc
    if problem := collection_problem(collection):
        raise HTTPException(400, f"'{collection}' cannot be a collection: {problem}")
    return collection


@router.get("/me")
def me(ctx: Ctx, who: Who) -> dict[str, Any]:
    """Who you are signed in as, and the collections you may read."""
    names = who.visible(askable(ctx.store))
    return {
        "name": who.name,
        "admin": who.is_admin,
        "collections": [
            {"name": n, "role": "owner" if who.can_write(n) else "read"} for n in names
        ],
    }


@router.get("/collections")
def collections(ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """The collections you may read, with documents and chunks."""
    return [
        {**asdict(c), "role": "owner" if who.can_write(c.name) else "read"}
        for c in ctx.store.collection_stats()
        if c.documents is not None and who.can_read(c.name)
    ]


@router.post("/ask")
def ask(body: AskRequest, ctx: Ctx, who: Who) -> StreamingResponse:
    """Answer from the documents, streamed as NDJSON: a `sources` line, `queued` lines
    (your place in line) while the model answers others, `delta` lines with the text as
    generated, then `done` with the whole answer (or `error`)."""
    memory = [Turn(t.question, t.answer) for t in body.turns or []]
    if body.conversation:
        found = ctx.history.memory(who, body.conversation) if ctx.history else None
        if found is None:
            raise HTTPException(404, f"no conversation '{body.conversation}'")
        memory = found
    admit(ctx, who)
    try:
        stream = start(ctx, who, body.question, body.collection, body.k, memory)
    except BaseException:
        leave(ctx, who)
        raise
    lines = released(ctx, who, _answer_lines(ctx, who, stream, body.conversation))
    return StreamingResponse(lines, media_type="application/x-ndjson")


def _answer_lines(
    ctx: Context, who: Principal, stream: AnswerStream, conversation: str | None
) -> Iterator[str]:
    yield _line({"type": "sources", "sources": [asdict(s) for s in stream.sources]})
    try:
        for piece in with_places(stream):  # `queued` lines while others are answered
            if isinstance(piece, Queued):
                yield _line({"type": "queued", "place": piece.place})
            else:
                yield _line({"type": "delta", "text": piece})
        answer = stream.result()
        conv = ctx.history.record(who, answer, conversation) if ctx.history else None
        yield _line({"type": "done", **answer_json(answer, conv)})
    except AssistantError as exc:
        yield _line({"type": "error", "error": one_line(exc)})


@router.get("/documents")
def documents(
    ctx: Ctx,
    who: Who,
    collection: str,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    q: Annotated[str, Query(max_length=MAX_SEARCH_CHARS)] = "",
    sort: Literal["name", "-name", "date", "-date", "size", "-size"] = "name",
) -> list[dict[str, Any]]:
    """One page of the documents of a collection you may read: `q` searches file names
    and titles, `sort` is name, date or size (`-` first: descending). The
    `X-Total-Count` header says how many documents match."""
    key = cast(Sort, sort.lstrip("-"))
    query = DocumentQuery(q, key, sort.startswith("-"), limit, offset)
    page = ctx.store.document_page(_readable(ctx, who, collection), query)
    response.headers["X-Total-Count"] = str(page.total)
    return [asdict(d) for d in page.documents]


@router.get("/documents/download")
def download(ctx: Ctx, who: Who, collection: str, source: str) -> FileResponse:
    """The original file of a document (only a document of a collection you may read,
    and only by the exact source the listing gives)."""
    known = ctx.store.held([source], _readable(ctx, who, collection))
    path = Path(source)
    if source not in known or not path.is_file():
        raise HTTPException(404, f"no document '{source}' in '{collection}'")
    return FileResponse(path, filename=path.name)


@router.post("/documents")
async def upload(
    ctx: Ctx,
    who: Who,
    collection: Annotated[str, Query()],
    files: Annotated[list[UploadFile], File()],
) -> list[dict[str, Any]]:
    """Upload and index files into a collection you own (admins: any, or a new one).
    The request's size is capped before it is read (upload_max_mb per request)."""
    uploads = ctx.uploads
    if uploads is None:
        raise HTTPException(403, "uploading is not enabled on this server")
    _writable(who, collection)
    for f in files:  # refuse the whole request before storing a byte of it
        if problem := name_problem(f.filename or ""):
            raise HTTPException(400, f"'{f.filename}': {problem}")
    temp = scratch_dir("upload")
    try:
        return await _ingest_uploads(files, temp, collection, uploads)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


async def _ingest_uploads(
    files: list[UploadFile], temp: Path, collection: str, uploads: Uploads
) -> list[dict[str, Any]]:
    paths = []
    for f in files:
        dest = temp / str(f.filename)
        with dest.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, f.file, out, 2**20)
        paths.append(dest)
    items = screen_uploads(paths, uploads)

    def ingest() -> None:
        for _ in run(items, collection, uploads, temp=temp):
            pass

    await run_in_threadpool(ingest)
    return [
        {"file": i.name, "status": i.status, "chunks": i.chunks, "reason": i.reason} for i in items
    ]


@router.delete("/documents")
def delete(ctx: Ctx, who: Who, collection: str, source: str) -> dict[str, Any]:
    """Delete a document from a collection you own."""
    _readable(ctx, who, collection)
    _writable(who, collection)
    removed = delete_documents(ctx.store, ctx.uploads, [source], collection)
    if not removed:
        raise HTTPException(404, f"no document '{source}' in '{collection}'")
    return {"removed": removed}


@router.get("/history")
def history(ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """Your conversations, newest first."""
    return [asdict(c) for c in ctx.history.list(who)] if ctx.history else []


@router.get("/history/{conversation}")
def conversation(ctx: Ctx, who: Who, conversation: str) -> dict[str, Any]:
    """One of your conversations with its questions, answers and sources."""
    found = ctx.history.get(who, conversation) if ctx.history else None
    if found is None:
        raise HTTPException(404, f"no conversation '{conversation}'")
    return found


class Rename(BaseModel):
    title: str = Field(min_length=1, max_length=200)


@router.patch("/history/{conversation}")
def rename(ctx: Ctx, who: Who, conversation: str, body: Rename) -> dict[str, bool]:
    """Rename one of your conversations."""
    if ctx.history is None or not ctx.history.rename(who, conversation, body.title):
        raise HTTPException(404, f"no conversation '{conversation}'")
    return {"renamed": True}


@router.get("/history/{conversation}/export")
def export(ctx: Ctx, who: Who, conversation: str, format: Literal["md", "json"] = "md") -> Response:
    """One of your conversations as a Markdown or JSON file."""
    found = ctx.history.get(who, conversation) if ctx.history else None
    if found is None:
        raise HTTPException(404, f"no conversation '{conversation}'")
    kind = "application/json" if format == "json" else "text/markdown; charset=utf-8"
    name = transcript.file_name(found, format)
    return Response(
        transcript.render(found, format),
        media_type=kind,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.delete("/history/{conversation}")
def forget(ctx: Ctx, who: Who, conversation: str) -> dict[str, bool]:
    """Delete one of your conversations."""
    if ctx.history is None or not ctx.history.delete(who, conversation):
        raise HTTPException(404, f"no conversation '{conversation}'")
    return {"deleted": True}


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, default=str) + "\n"
