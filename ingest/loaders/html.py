"""HTML: the visible text, `<title>` (else the first `<h1>`) as the title, headings written
as Markdown headings so chunks get a heading-path anchor.

lxml's HTML parser (libxml2, which closes implied tags the way browsers do) calls back on
each start tag, end tag and piece of text, and the text is written out in that one pass:
linear in the size of the document for any nesting, with no tree built. (Inserting line
breaks into a BeautifulSoup tree walked every block's descendants: quadratic in nesting,
minutes for 1 MB of nested `<div>`s.) Nesting deeper than `max_html_depth` is an error.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from ingest.loaders.base import LoadError, ReadContext, Section, read_bytes, title_from_text

_BLOCKS = {  # block elements: each ends a line of visible text
    *("p", "div", "section", "article", "main", "aside", "header", "footer", "nav", "br"),
    *("li", "ul", "ol", "table", "tr", "td", "th", "pre", "blockquote", "dd", "dt", "dl"),
    *("figure", "figcaption", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr"),
}
_INVISIBLE = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object"}
_HEADINGS = {f"h{n}": "#" * n for n in range(1, 7)}
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([\w:.-]{1,40})""", re.I)
_FEED = 1 << 20


class _TooDeep(Exception):
    pass


class _Text:
    """lxml parser target: collects the visible text and the title as the parser calls."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self.hidden = 0  # open invisible elements: their text is not shown
        self.in_title = 0
        self.out: list[str] = []
        self.title: list[str] = []

    def start(self, tag: str, attrib: object) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise _TooDeep
        if tag in _INVISIBLE:
            self.hidden += 1
        if tag == "title":
            self.in_title += 1
        if tag in _HEADINGS and not self.hidden:
            self.out.append(f"\n{_HEADINGS[tag]} ")

    def end(self, tag: str) -> None:
        self.depth -= 1
        if tag in _INVISIBLE:
            self.hidden -= 1
        if tag == "title":
            self.in_title -= 1
        if tag in _BLOCKS and not self.hidden:
            self.out.append("\n")

    def data(self, text: str) -> None:
        if self.in_title:
            self.title.append(text)
        elif not self.hidden:
            self.out.append(text)

    def comment(self, text: str) -> None:
        pass

    def close(self) -> None:
        return None


def decode_html(data: bytes) -> str:
    """BOM, else a `<meta charset>` near the top, else UTF-8, else Windows-1252."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return data.decode(name, errors="replace")
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def html_text(markup: str, max_depth: int) -> tuple[str, str | None]:
    """(visible text with Markdown headings, title) of an HTML document, in one pass."""
    from lxml import etree

    target = _Text(max_depth)
    parser = etree.HTMLParser(target=target, recover=True, no_network=True)
    try:
        for at in range(0, len(markup), _FEED):
            parser.feed(markup[at : at + _FEED])
        parser.close()
    except _TooDeep as exc:
        raise LoadError(f"HTML nested over {max_depth} elements deep (broken or hostile)") from exc
    except (etree.ParserError, etree.XMLSyntaxError) as exc:  # nothing it could parse at all
        raise LoadError("no visible text") from exc
    text = re.sub(r"[ \t\r\f\v\xa0]+", " ", "".join(target.out))
    text = re.sub(r" *\n[ \n]*\n *", "\n\n", text).strip()
    title = " ".join("".join(target.title).split()) or None
    return text, title


def read_html(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    data = read_bytes(path)
    if not data.strip():
        raise LoadError("empty file")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError("binary data, not HTML")
    text, title = html_text(decode_html(data), ctx.limits.max_html_depth)
    if not text:
        raise LoadError("no visible text")
    if not title:
        first = re.search(r"^# (.+)$", text, re.MULTILINE)
        title = first.group(1).strip() if first else title_from_text(text)
    return title, iter([Section(text=text)])
