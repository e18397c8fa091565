"""OpenDocument (LibreOffice) the way their Office counterparts are read: ODT like DOCX
(headings as Markdown headings, tables as "a | b" lines), ODS like XLSX (rows with their
header, anchored "Sheet!A2:C40"), ODP like PPTX (one section per slide with its notes).

`content.xml` is streamed with lxml's iterparse (entities not resolved, libxml2's depth and
size limits on) and each finished element is cleared, after the zip-bomb check."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

from ingest.loaders.base import LoadError, ReadContext, Section, os_reason, short
from ingest.loaders.rows import Row, column_letters, row_sections, trim
from ingest.loaders.zipguard import DAMAGE, check_zip

_NS = {
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
}
MAX_REPEAT = 1000  # a repeated row or cell with content: more is an amplification attack


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{_NS[prefix]}}}{local}"


P, H, S, TAB, BREAK = (_q(n) for n in ("text:p", "text:h", "text:s", "text:tab", "text:line-break"))
TABLE, ROW, CELL = _q("table:table"), _q("table:table-row"), _q("table:table-cell")
COVERED, PAGE, NOTES = _q("table:covered-table-cell"), _q("draw:page"), _q("presentation:notes")
FRAME, CLASS = _q("draw:frame"), _q("presentation:class")


def _text(el: Any) -> str:
    """An element's text with ODF's space, tab and line-break elements spelled out."""
    parts = [el.text or ""]
    for child in el:
        if child.tag == S:
            parts.append(" " * min(_repeat(child, "text:c"), 100))
        elif child.tag == TAB:
            parts.append("\t")
        elif child.tag == BREAK:
            parts.append("\n")
        else:
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _events(path: Path, kind: str) -> Iterator[tuple[str, Any]]:
    from lxml import etree

    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as stream:
            parser = etree.iterparse(stream, events=("start", "end"), resolve_entities=False)
            yield from parser
    except DAMAGE as exc:
        raise LoadError(f"corrupt {kind} ({short(exc)})") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc


def _repeat(el: Any, attr: str) -> int:
    try:
        return max(int(el.get(_q(attr), "1")), 1)
    except ValueError:
        return 1


def _cells(row: Any) -> list[str]:
    cells: list[str] = []
    for cell in row:
        if cell.tag not in (CELL, COVERED):
            continue
        value = " ".join(" ".join(_text(p).split()) for p in cell.iter(P)).strip()
        cells += [value] * min(_repeat(cell, "table:number-columns-repeated"), MAX_REPEAT)
    return trim(cells)


def _odt(path: Path) -> Iterator[str]:
    table_depth = 0
    for event, el in _events(path, "ODT"):
        if el.tag == TABLE:
            table_depth += 1 if event == "start" else -1
        if event != "end":
            continue
        if el.tag == ROW and table_depth == 1:
            cells = _cells(el)
            if any(cells):
                yield " | ".join(cells)
            el.clear()
        elif el.tag == TABLE and table_depth == 0:
            yield ""
            el.clear()
        elif el.tag in (P, H) and table_depth == 0:
            text = " ".join(_text(el).split())
            if text and el.tag == H:
                level = min(_repeat(el, "text:outline-level"), 6)
                yield f"\n{'#' * level} {text}\n"
            elif text:
                yield text
            el.clear()


def _ods_rows(path: Path) -> Iterator[tuple[str, Row]]:
    name, number = "", 0
    for event, el in _events(path, "ODS"):
        if el.tag == TABLE and event == "start":
            name, number = el.get(_q("table:name"), "Sheet"), 0
        elif el.tag == ROW and event == "end":
            cells = _cells(el)
            repeat = _repeat(el, "table:number-rows-repeated")
            for _ in range(min(repeat, MAX_REPEAT) if any(cells) else 0):
                number += 1
                yield name, (number, cells)
            number += 0 if any(cells) else repeat
            el.clear()


def _odp(path: Path) -> Iterator[Section]:
    number = 0
    for event, el in _events(path, "ODP"):
        if el.tag != PAGE or event != "end":
            continue
        number += 1
        title, body, notes = "", [], []
        for frame in el.iter(FRAME):
            text = "\n".join(" ".join(_text(p).split()) for p in frame.iter(P)).strip()
            if frame.get(CLASS) == "title" and not title:
                title = " ".join(text.split())
            elif text and not any(a.tag == NOTES for a in frame.iterancestors()):
                body.append(text)
        for note in el.iter(NOTES):
            notes += [" ".join(_text(p).split()) for p in note.iter(P)]
        parts = ([f"# {title}\n"] if title else []) + body
        if any(notes):
            parts.append("Notes: " + " ".join(n for n in notes if n))
        el.clear()
        if body or title or any(notes):
            yield Section("\n".join(parts).strip(), f"slide {number}")


def read_opendocument(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    kind = path.suffix.lower().lstrip(".").upper()
    check_zip(path, ctx.limits, kind)

    def sections() -> Iterator[Section]:
        try:
            yield from _sections(path, kind, ctx)
        except DAMAGE as exc:
            raise LoadError(f"corrupt {kind} ({short(exc)})") from exc

    return None, sections()


def _sections(path: Path, kind: str, ctx: ReadContext) -> Iterator[Section]:
    found = False
    if kind == "ODT":
        text = "\n".join(_odt(path)).strip()
        found = bool(text)
        if found:
            yield Section(text)
    elif kind == "ODS":
        for sheet, rows in groupby(_ods_rows(path), key=lambda item: item[0]):
            quoted = sheet if sheet.replace("_", "").isalnum() else f"'{sheet}'"

            def anchor(a: int, b: int, cols: int, q: str = quoted) -> str:
                return f"{q}!A{a}:{column_letters(max(cols, 1))}{b}"

            for section in row_sections((r for _, r in rows), anchor, ctx.limits.chunk_chars):
                found = True
                yield section
    else:
        for section in _odp(path):
            found = True
            yield section
    if not found:
        raise LoadError("no text")
