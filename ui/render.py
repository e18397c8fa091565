"""Pure formatting for the web UI: answers, sources, documents and uploads as safe text.

No Gradio here, so the rules that keep document text inert are plain functions to read
and test. Indexed documents are untrusted input (seed transcripts already carry `<a>` tags):
everything taken from them is HTML-escaped, and the model's answer, which can echo them,
is rendered with no tag, link or image of its own (ui.markdown), so the page can neither
run nor fetch anything a document says.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import PurePath

from assistant.answering import Answer, Source
from assistant.errors import one_line
from assistant.store import DocumentInfo
from assistant.uploads import UploadStatus
from ui.answer_footer import footer_html
from ui.checkable import claim_marks, claims_summary, snippet_html, viewer_url
from ui.markdown import answer_html, card_id, sources_key

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # what would open an HTML tag or comment
_MD_IMAGE = re.compile(r"!\[")  # ![alt](url) would make the browser fetch url
# [text](url): a document can hide any URL behind harmless words; shown as "text (url)".
_MD_LINK = re.compile(r"(?<!\\)\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
# [ref]: url (a definition that [text][ref] would turn into a link): made plain text.
_MD_LINK_DEF = re.compile(r"^( {0,3})\[(?=[^\]\n]+\]:)", re.M)


def file_name(source: str) -> str:
    """The basename people recognise; the full path stays in a tooltip."""
    return PurePath(source).name or source


def _esc(text: str) -> str:
    return html.escape(" ".join(str(text).split()), quote=True)


def safe_markdown(text: str) -> str:
    """Text for the Chatbot's own Markdown (a question; answers go through
    ui.markdown.answer_html), with no HTML tag, image or hidden link left in it: a link
    shows its URL (a document's "[click here](...)" cannot pass off one address as another).

    A code fence left open (mid-stream, or by the model) is closed, or it would swallow
    the sources block that follows.
    """
    text = _TAG_START.sub("&lt;", text)
    for _ in range(8):  # "[[a](b)](c)": the inner link first, then the outer
        text, found = _MD_LINK.subn(_visible_link, text)
        if not found:
            break
    text = _MD_IMAGE.sub(r"!\\[", _MD_LINK_DEF.sub(r"\1\\[", text))
    return text + "\n```" if text.count("```") % 2 else text


def _visible_link(m: re.Match[str]) -> str:
    label, url = m[1].strip(), m[2]
    return f"{label} ({url})" if label and label != url else url


def sources_html(sources: Sequence[Source], *, final: bool, refused: bool = False) -> str:
    """The sources under an answer, as one HTML block.

    No blank line inside, so Markdown passes the block through untouched; every string
    from a document is escaped. `final` adds the cited marks, known once the answer is.
    """
    if not sources:
        return ""
    cited = [f"[{s.number}]" for s in sources if s.cited]
    head = "Sources"
    if refused:  # declined, though related passages were found: show them
        head = "Closest passages · none of them answers the question"
    elif final:
        head += f" · cited {', '.join(cited)}" if cited else " · none cited"
    items, key = [], sources_key(sources)
    for s in sources:
        mark = '<span class="src-cited">cited</span>' if s.cited else ""
        url = viewer_url(s)
        number = f'<span class="src-num">[{s.number}]</span>'
        if url:  # opens the document at this place, the supporting sentence marked
            number = (
                f'<a class="src-open" href="{html.escape(url, quote=True)}" target="_blank"'
                f' title="open the source at this place">{number}</a>'
            )
        items.append(
            f'<li class="src{" is-cited" if s.cited else ""}" id="{card_id(key, s.number)}">'
            f"{number} "
            f'<span class="src-file" title="{_esc(s.source)}">'
            f"{_esc(file_name(s.source))}</span>"
            + _title_span(s)
            + (f' <span class="src-anchor">{_esc(s.anchor)}</span>' if s.anchor else "")
            + f" {mark}"
            f'<div class="src-snippet">{snippet_html(s)}</div></li>'
        )
    return (
        f'<details class="sources" open><summary>{head}</summary>'
        f'<ol class="src-list">{"".join(items)}</ol></details>'
    )


def _title_span(s: Source) -> str:
    """The document's title beside its file name, unless it only repeats the name."""
    if not s.title or s.title == PurePath(s.source).stem:
        return ""
    return f' <span class="src-title">{_esc(s.title)}</span>'


def answer_meta(answer: Answer) -> str:
    """The footer of a complete answer (also the page's 'done' marker): model, timings,
    copy button; a rewritten follow-up's search under it."""
    notes = []
    if answer.omitted_sources:
        notes.append(f"{answer.omitted_sources} more source(s) did not fit the context")
    if answer.turns_used:
        notes.append(f"{answer.turns_used} earlier turn(s) in the prompt")
    meta = footer_html(answer.text, answer.model, answer.timings, notes)
    if answer.followup and answer.standalone_query != answer.question:
        query = _esc(answer.standalone_query)
        meta += f'<div class="answer-meta searched-as">searched as: {query}</div>'
    return meta


def chat_message(
    text: str,
    sources: Sequence[Source],
    *,
    final: Answer | None = None,
    error: str | None = None,
    model: str = "",
) -> str:
    """The assistant bubble: answer text, then an error line, the sources and the footer
    (on a finished answer, and on an error, with the `model` that was asked)."""
    claims = final.unsupported if final is not None else []
    marked, marks = claim_marks(text, claims)
    parts = [answer_html(marked, sources, marks)] if text else []
    if not text and final is None and error is None:
        parts.append('<div class="answer-pending">Reading the sources, writing the answer…</div>')
    if error:
        parts.append(error_html(error))
    if claims:
        parts.append(claims_summary(claims))
    if sources:
        refused = final is not None and final.refused
        parts.append(sources_html(sources, final=final is not None, refused=refused))
    if final is not None:
        parts.append(answer_meta(final))
    elif error:
        parts.append(footer_html(text, model))
    return "\n\n".join(parts) or "…"


def when(iso: str) -> str:
    """An ingest time as people read it: '2025-01-02 10:11 UTC'."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.utcoffset() == timedelta(0):
        return t.strftime("%Y-%m-%d %H:%M UTC")
    return t.strftime("%Y-%m-%d %H:%M %z").strip()


def documents_html(
    docs: Sequence[DocumentInfo], collection: str, *, detail: bool = False, hint: str = ""
) -> str:
    """A collection's documents: file, title and chunks; `detail` adds when each was
    ingested. `hint` says how to add documents when there are none."""
    if not docs:
        hint = hint or "Index some with <code>assistant ingest PATH</code>."
        return (
            f'<p class="docs-empty">No documents in collection <b>{_esc(collection)}</b>.'
            f" {hint}</p>"
        )
    rows = "".join(
        f'<tr><td class="doc-file" title="{_esc(d.source)}">{_esc(file_name(d.source))}</td>'
        f'<td class="doc-title">{_esc(d.title)}</td><td class="doc-chunks">{d.chunks}</td>'
        + (f'<td class="doc-when">{_esc(when(d.ingested_at))}</td>' if detail else "")
        + "</tr>"
        for d in docs
    )
    total = sum(d.chunks for d in docs)
    return (
        f'<p class="docs-summary">{len(docs)} document(s), {total} chunks in'
        f" <b>{_esc(collection)}</b></p>"
        '<table class="docs"><thead><tr><th>File</th><th>Title</th>'
        '<th class="doc-chunks">Chunks</th>'
        + ('<th class="doc-when">Ingested</th>' if detail else "")
        + f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def document_choices(docs: Sequence[DocumentInfo]) -> list[tuple[str, str]]:
    """(label, source) for a picker: the file name, or the full path where names repeat."""
    names = Counter(file_name(d.source) for d in docs)
    return [
        (file_name(d.source) if names[file_name(d.source)] == 1 else d.source, d.source)
        for d in docs
    ]


STATUS_LABELS = {"queued": "indexing…"}
STATUS_ORDER = ("added", "updated", "unchanged", "removed", "failed", "queued")


def upload_html(progress: UploadStatus | None, *, error: str | None = None) -> str:
    """An upload run: one status line, then every file with its status, chunks and reason.

    While the run goes on, files still being indexed show as 'indexing…' and the line
    counts files, chunks and seconds, so a long PDF visibly moves.
    """
    if progress is None:
        return error_html(error) if error else ""
    p = progress
    if p.error:
        line = error_html(f"Indexing into {p.collection} failed: {p.error}")
    elif p.done:
        counts = Counter(i.status for i in p.items)
        summary = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s])
        chunks = sum(i.chunks for i in p.items)
        line = (
            f'<p class="upload-status is-done">Done in {p.seconds:.1f} s: {_esc(summary)};'
            f" {chunks} chunk{'' if chunks == 1 else 's'} in <b>{_esc(p.collection)}</b>.</p>"
        )
    elif p.accepted == 0 and any(i.dest is None and i.pending for i in p.items):
        line = f'<p class="upload-status is-busy">Saving the uploads… {p.seconds:.0f} s</p>'
    else:
        line = (
            f'<p class="upload-status is-busy">Indexing into <b>{_esc(p.collection)}</b>:'
            f" {p.finished} of {p.accepted} file(s) done, {p.chunks} chunks embedded,"
            f" {p.seconds:.0f} s…</p>"
        )
    rows = "".join(
        f'<tr class="res res-{_esc(i.status)}"><td class="res-file">{_esc(i.name)}</td>'
        f'<td class="res-status"><span class="badge">'
        f"{_esc(STATUS_LABELS.get(i.status, i.status))}</span></td>"
        f'<td class="res-chunks">{i.chunks if i.chunks else ""}</td>'
        f'<td class="res-reason">{_esc(i.reason)}</td></tr>'
        for i in p.items
    )
    return (
        f"{line}"
        '<table class="docs results"><thead><tr><th>File</th><th>Status</th>'
        '<th class="res-chunks">Chunks</th><th>Reason</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def note_html(message: str, *, warning: bool = False) -> str:
    """A one-line message: a confirmation (documents deleted), or a question to confirm."""
    return f'<p class="note{" is-warning" if warning else ""}">{_esc(message)}</p>'


error_line = one_line  # one line for the page, whatever the exception text holds


def error_html(message: str) -> str:
    return f'<div class="answer-error">⚠ Error: {_esc(message)}</div>'
