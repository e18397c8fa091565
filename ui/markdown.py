"""The model's answer as HTML, rendered here rather than in the browser: Markdown's lists,
tables and code blocks, and nothing that can run or load.

The answer is untrusted (it can echo a document's text), so it is rendered with raw HTML,
links, images and link definitions switched off: `<script>`, `<img onerror>` or
`![](http://...)` come out as the text they are, and a `[label](url)` shows its URL
instead of hiding it behind the label. Code keeps its `<` and `&` (escaped once, by the
renderer) and gets a copy button; `[n]` becomes a link to source n's card when the
answer has a source n. The result is one HTML block without blank lines, so the
Chatbot's own Markdown pass hands it through untouched (and its sanitizer still runs).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from assistant.answering import Source

_CITE = re.compile(r"\[(\d{1,3})\]")
# A claim mark's placeholder (ui.checkable.claim_marks): never turned into HTML in code.
_PLACEHOLDER = re.compile("\ue000[^\ue000]*\ue000")
COPY_CODE = (
    '<button type="button" class="code-copy" title="Copy this code">'
    '<span class="code-copy-label">Copy</span></button>'
)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.disable(["image", "link", "autolink", "reference", "html_inline", "html_block"])
    md.add_render_rule("fence", _code_block)
    md.add_render_rule("code_block", _code_block)
    md.add_render_rule("code_inline", _code_inline)
    md.add_render_rule("text", _text)
    return md


def _code_block(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Mapping[str, Any]
) -> str:
    """A code block with its copy button; newlines as `&#10;` so no blank line ends the
    HTML block in the Chatbot's Markdown pass."""
    token = tokens[idx]
    lang = token.info.strip().split(" ")[0] if token.info.strip() else ""
    cls = f' class="language-{html.escape(lang, quote=True)}"' if lang else ""
    content = _PLACEHOLDER.sub("", token.content.removesuffix("\n"))
    code = html.escape(content, quote=False).replace("\n", "&#10;")
    return f'<div class="code-block">{COPY_CODE}<pre><code{cls}>{code}</code></pre></div>\n'


def _code_inline(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Mapping[str, Any]
) -> str:
    code = html.escape(_PLACEHOLDER.sub("", tokens[idx].content), quote=False)
    return f"<code>{code}</code>"


def _text(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Mapping[str, Any]
) -> str:
    """Escaped text, its `[n]` made a link to source n (text only: never inside code)."""
    shown = html.escape(tokens[idx].content, quote=False)
    links: Mapping[int, str] = env.get("cites", {})
    return _CITE.sub(lambda m: links.get(int(m[1]), m[0]), shown) if links else shown


_MD = _markdown()


def sources_key(sources: Sequence[Source]) -> str:
    """A short id for an answer's sources, the same at every streamed step (so the
    source cards are not rebuilt on each token), used in the cards' element ids."""
    ids = "|".join(f"{s.collection}/{s.chunk_id}/{s.number}" for s in sources)
    return hashlib.sha1(ids.encode()).hexdigest()[:8]


def card_id(key: str, number: int) -> str:
    return f"src-{key}-{number}"


def cite_links(sources: Sequence[Source], key: str) -> dict[int, str]:
    """Each source's `[n]` as a small link to its card (the page's script scrolls to it
    and opens it; without the script the fragment still leads there)."""
    return {
        s.number: (
            f'<a class="cite" href="#{card_id(key, s.number)}"'
            f' title="Source {s.number}: {html.escape(PurePath(s.source).name, quote=True)}">'
            f"[{s.number}]</a>"
        )
        for s in sources
    }


def answer_html(
    text: str,
    sources: Sequence[Source] = (),
    marks: Mapping[str, str] | None = None,
) -> str:
    """The answer's Markdown as one safe HTML block. `marks` maps placeholders already in
    `text` (see ui.checkable.claim_marks) to the HTML they become."""
    key = sources_key(sources)
    body = _MD.render(text, {"cites": cite_links(sources, key)})
    for placeholder, tag in (marks or {}).items():
        body = body.replace(html.escape(placeholder, quote=False), tag)
    lines = (line for line in body.split("\n") if line.strip())
    return '<div class="answer-text">' + "\n".join(lines) + "</div>"
