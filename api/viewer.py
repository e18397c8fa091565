"""The source one click away: `/view` opens a cited document at the cited place.

A PDF opens in the browser's own viewer at its page (`/view/file...#page=N`); any other
document (Markdown, text, HTML, DOCX, a video transcript) is shown as a readable page made
of its indexed chunks, scrolled to the cited one with the supporting sentence marked. Both
are behind the login gate and the same read check as every other route: a document of a
collection the user may not read answers 404, exactly like one that does not exist.
Nothing on the page loads from elsewhere (a Content-Security-Policy forbids it).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.context import Context, Ctx, Who
from api.style import PALETTE
from assistant.auth import Principal
from assistant.auth.access import AccessDenied, askable, check_read
from assistant.store import Chunk

router = APIRouter()
# Inline styles only; no script, image, font or frame from anywhere.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_PAGE = re.compile(r"\bpage (\d+)\b")
PAGE_CSS = (
    PALETTE
    + """
body { font: 16px/1.55 system-ui, sans-serif; max-width: 48em; margin: 2em auto;
  padding: 0 1em; }
header { border-bottom: 1px solid var(--line); margin-bottom: 1.5em; }
header h1 { font-size: 1.3em; margin: 0 0 .2em 0; }
header p { margin: .2em 0 .8em 0; color: var(--muted); font-size: .9em;
  overflow-wrap: anywhere; }
.chunk { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.chunk.cited { background: var(--cited-bg); border-left: 3px solid var(--accent);
  padding: .2em .6em; margin: .4em -.6em; }
.where { display: block; font-size: .8em; color: var(--accent); font-weight: 600; }
mark { background: var(--mark-bg); color: var(--mark-fg); padding: 0 .1em;
  scroll-margin-top: 40vh; }
"""
)


def _document(ctx: Context, who: Principal, collection: str, source: str) -> None:
    """404 unless `who` may read `collection` and it holds `source`."""
    try:
        check_read(who, collection, askable(ctx.store))
    except AccessDenied as exc:
        raise HTTPException(404, str(exc)) from exc
    if not ctx.store.held([source], collection):
        raise HTTPException(404, f"no document '{source}' in '{collection}'")


def document_chunks(ctx: Context, collection: str, source: str) -> list[Chunk]:
    chunks = [c for c, _ in ctx.store.read_document(source, collection)]
    return sorted(chunks, key=lambda c: int(c.metadata.get("chunk_index", 0)))


@router.get("/view", response_model=None)
def view(
    ctx: Ctx,
    who: Who,
    collection: str,
    source: str,
    chunk: str = "",
    start: int = -1,
    end: int = -1,
) -> Response:
    """The document at the cited chunk, its supporting sentence (`start`..`end`, offsets in
    the chunk's text) marked; a PDF redirects to its file at the chunk's page."""
    _document(ctx, who, collection, source)
    chunks = document_chunks(ctx, collection, source)
    cited = next((c for c in chunks if c.id == chunk), None)
    if Path(source).suffix.lower() == ".pdf" and Path(source).is_file():
        page = _PAGE.search(str(cited.metadata.get("anchor", ""))) if cited else None
        target = f"/view/file?{_query(collection, source)}"
        return RedirectResponse(target + (f"#page={page.group(1)}" if page else ""), 303)
    body = _page(source, chunks, cited, start, end)
    return HTMLResponse(body, headers={"Content-Security-Policy": CSP})


@router.get("/view/file")
def view_file(ctx: Ctx, who: Who, collection: str, source: str) -> FileResponse:
    """The original file shown inline (a PDF in the browser's own viewer)."""
    _document(ctx, who, collection, source)
    path = Path(source)
    if not path.is_file():
        raise HTTPException(404, f"the file of '{source}' is no longer on this server")
    return FileResponse(
        path,
        filename=path.name,
        content_disposition_type="inline",
        headers={"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"},
    )


def _query(collection: str, source: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"collection": collection, "source": source})


def _page(source: str, chunks: list[Chunk], cited: Chunk | None, start: int, end: int) -> str:
    title = str(chunks[0].metadata.get("title", "")) if chunks else ""
    name = Path(source).name
    parts, previous = [], ""
    for c in chunks:
        text = c.text
        skip = _overlap(previous, text)  # neighbours share up to chunk_overlap characters
        previous = text
        if c is cited:  # whole, overlap included, so the sentence's offsets hold
            parts.append(_cited(c, start, end))
        else:
            parts.append(f'<p class="chunk">{html.escape(text[skip:])}</p>')
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(name)}</title><style>{PAGE_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title or name)}</h1>"
        f"<p>{html.escape(source)}</p></header><main>{''.join(parts)}</main></body></html>"
    )


def _cited(c: Chunk, start: int, end: int) -> str:
    """The cited chunk with its place (page, heading, timestamp) and its sentence marked."""
    text = c.text
    where = html.escape(str(c.metadata.get("anchor", "")))
    label = f'<span class="where">{where}</span>' if where else ""
    if 0 <= start < end <= len(text):
        body = (
            html.escape(text[:start])
            + f'<mark id="evidence">{html.escape(text[start:end])}</mark>'
            + html.escape(text[end:])
        )
    else:
        body = html.escape(text)
    return f'<p class="chunk cited" id="cited">{label}{body}</p>'


def _overlap(previous: str, text: str, limit: int = 400) -> int:
    """Length of the longest prefix of `text` that `previous` ends with."""
    for size in range(min(len(previous), len(text), limit), 0, -1):
        if previous.endswith(text[:size]):
            return size
    return 0
