"""Pure formatting for the web UI: answers, sources and the document list as safe text.

No Gradio here, so the rules that keep document text inert are plain functions to read
and test. Indexed documents are untrusted input (seed transcripts already carry `<a>` tags):
everything taken from them is HTML-escaped, and the model's answer, which can echo them,
loses its tags and images, so the page can neither run nor fetch anything a document says.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import PurePath

from assistant.answering import Answer, Source
from assistant.store import DocumentInfo

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # what would open an HTML tag or comment
_MD_IMAGE = re.compile(r"!\[")  # ![alt](url) would make the browser fetch url


def file_name(source: str) -> str:
    """The basename people recognise; the full path stays in a tooltip."""
    return PurePath(source).name or source


def _esc(text: str) -> str:
    return html.escape(" ".join(str(text).split()), quote=True)


def safe_markdown(text: str) -> str:
    """Model text, still Markdown (lists, bold), but with no HTML tag or image left in it.

    A code fence left open (mid-stream, or by the model) is closed, or it would swallow
    the sources block that follows.
    """
    text = _MD_IMAGE.sub(r"!\\[", _TAG_START.sub("&lt;", text))
    return text + "\n```" if text.count("```") % 2 else text


def sources_html(sources: Sequence[Source], *, final: bool) -> str:
    """The sources under an answer, as one HTML block.

    No blank line inside, so Markdown passes the block through untouched; every string
    from a document is escaped. `final` adds the cited marks, known once the answer is.
    """
    if not sources:
        return ""
    cited = [f"[{s.number}]" for s in sources if s.cited]
    head = "Sources"
    if final:
        head += f" · cited {', '.join(cited)}" if cited else " · none cited"
    items = []
    for s in sources:
        mark = '<span class="src-cited">cited</span>' if s.cited else ""
        items.append(
            f'<li class="src{" is-cited" if s.cited else ""}">'
            f'<span class="src-num">[{s.number}]</span> '
            f'<span class="src-file" title="{_esc(s.title or s.source)}">'
            f"{_esc(file_name(s.source))}</span>"
            + (f' <span class="src-anchor">{_esc(s.anchor)}</span>' if s.anchor else "")
            + f" {mark}"
            f'<div class="src-snippet">{_esc(s.snippet)}</div></li>'
        )
    return (
        f'<details class="sources" open><summary>{head}</summary>'
        f'<ol class="src-list">{"".join(items)}</ol></details>'
    )


def answer_meta(answer: Answer) -> str:
    """A footer shown once the answer is complete: model and time (also a 'done' marker)."""
    t = answer.timings
    parts = [answer.model]
    if "first_token_s" in t:
        parts.append(f"first token {t['first_token_s']:.1f} s")
    if "total_s" in t:
        parts.append(f"total {t['total_s']:.1f} s")
    if answer.omitted_sources:
        parts.append(f"{answer.omitted_sources} more source(s) did not fit the context")
    return f'<div class="answer-meta">{_esc(" · ".join(parts))}</div>'


def chat_message(
    text: str,
    sources: Sequence[Source],
    *,
    final: Answer | None = None,
    error: str | None = None,
) -> str:
    """The assistant bubble: answer text, then an error line, the sources and the footer."""
    parts = [safe_markdown(text)] if text else []
    if not text and final is None and error is None:
        parts.append('<div class="answer-pending">Reading the sources, writing the answer…</div>')
    if error:
        parts.append(error_html(error))
    if sources:
        parts.append(sources_html(sources, final=final is not None))
    if final is not None:
        parts.append(answer_meta(final))
    return "\n\n".join(parts) or "…"


def documents_html(docs: Sequence[DocumentInfo], collection: str) -> str:
    """The indexed-documents panel: file, title and chunk count per document."""
    if not docs:
        return (
            f'<p class="docs-empty">No documents in collection <b>{_esc(collection)}</b>.'
            " Index some with <code>assistant ingest PATH</code>.</p>"
        )
    rows = "".join(
        f'<tr><td class="doc-file" title="{_esc(d.source)}">{_esc(file_name(d.source))}</td>'
        f'<td class="doc-title">{_esc(d.title)}</td><td class="doc-chunks">{d.chunks}</td></tr>'
        for d in docs
    )
    total = sum(d.chunks for d in docs)
    return (
        f'<p class="docs-summary">{len(docs)} document(s), {total} chunks in'
        f" <b>{_esc(collection)}</b></p>"
        '<table class="docs"><thead><tr><th>File</th><th>Title</th>'
        '<th class="doc-chunks">Chunks</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def error_line(exc: BaseException) -> str:
    """One line for the page, whatever the exception text holds."""
    return " ".join(str(exc).split()) or type(exc).__name__


def error_html(message: str) -> str:
    return f'<div class="answer-error">⚠ Error: {_esc(message)}</div>'
