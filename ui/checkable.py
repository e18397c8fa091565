"""What makes an answer checkable on the page: the supporting sentence highlighted in each
source's snippet, a link that opens the source at its place, and a visible, accessible
mark (with the reason) on each sentence of the answer the sources do not support.

Pure functions over the core's dataclasses; every string from a document or the model is
escaped (see ui.render).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from urllib.parse import urlencode

from assistant.answering import Source
from assistant.claims import Claim
from assistant.evidence import Evidence, as_evidence

VIEWER = "/view"  # served by api.viewer, behind the same login and read checks


def _esc(text: str) -> str:
    return html.escape(" ".join(str(text).split()), quote=True)


def top_evidence(source: Source) -> Evidence | None:
    found = [as_evidence(e) for e in source.evidence]
    return found[0] if found else None


def viewer_url(source: Source) -> str:
    """The cited document at the cited chunk, its supporting sentence marked; "" when the
    source names no collection (history from before collections were recorded)."""
    if not source.collection:
        return ""
    query = {"collection": source.collection, "source": source.source, "chunk": source.chunk_id}
    top = top_evidence(source)
    if top is not None:
        query |= {"start": str(top.start), "end": str(top.end)}
    return f"{VIEWER}?{urlencode(query)}#evidence"


def snippet_html(source: Source) -> str:
    """The snippet, escaped, with the supporting sentence (or the part of it the snippet
    shows) in a <mark>."""
    snippet = " ".join(source.snippet.split())
    top = top_evidence(source)
    sentence = " ".join(top.text.split()) if top else ""
    at = snippet.find(sentence) if sentence else -1
    if at < 0:
        return _esc(snippet)
    end = at + len(sentence)
    return (
        _esc(snippet[:at])
        + '<mark class="evidence" title="the sentence that best answers the question">'
        + f"{_esc(sentence)}</mark>"
        + _esc(snippet[end:])
    )


def claim_marks(text: str, claims: Sequence[Claim]) -> tuple[str, dict[str, str]]:
    """`text` with a placeholder before and after each unsupported sentence, and the HTML
    each placeholder becomes once the text is rendered (see ui.markdown.answer_html).
    The placeholders are private-use characters, which Markdown leaves alone."""
    marks: dict[str, str] = {}
    out, last = [], 0
    for i, claim in enumerate(sorted(claims, key=lambda c: c.start)):
        if claim.start < last or claim.end > len(text):
            continue  # overlapping or stale offsets: leave the text as it is
        opening, closing = f"\ue000c{i}o\ue000", f"\ue000c{i}c\ue000"
        reason = "; ".join(claim.reasons)
        marks[opening] = f'<mark class="claim-unsupported" title="{_esc(reason)}">'
        marks[closing] = (
            f'</mark> <span class="claim-reason" role="note">⚠ not supported: {_esc(reason)}</span>'
        )
        out += [text[last : claim.start], opening, text[claim.start : claim.end], closing]
        last = claim.end
    out.append(text[last:])
    return "".join(out), marks


def claims_summary(claims: Sequence[Claim]) -> str:
    if not claims:
        return ""
    n = len(claims)
    return (
        f'<div class="claims-summary" role="status">⚠ {n} sentence{"s" if n > 1 else ""}'
        " of this answer {} not supported by the sources: check before relying on"
        " {}.</div>".format("are" if n > 1 else "is", "them" if n > 1 else "it")
    )
