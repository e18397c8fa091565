"""DOCX (python-docx): paragraphs and tables in document order; the Title style becomes a
level-1 Markdown heading and Heading N a level N+1 one, so chunks get a heading-path anchor.
Parsed whole, after the zip-bomb check and within the size limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.loaders.base import LoadError, ReadContext, Section, head, os_reason, short
from ingest.loaders.base import title_from_text as _title
from ingest.loaders.zipguard import DAMAGE, check_zip

OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # encrypted Office files and old binary .doc/.xls/.ppt


def _level(style: str) -> int:
    if style == "Title":
        return 1
    if style.startswith("Heading ") and style[8:].isdigit():
        return min(int(style[8:]) + 1, 6)  # under the Title
    return 0


def _lines(document: Any) -> tuple[list[str], str | None]:
    from docx.table import Table

    lines: list[str] = []
    first_heading = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells]
                if any(cells):
                    lines.append(" | ".join(cells))
            lines.append("")
            continue
        text = block.text.strip()
        if not text:
            continue
        level = _level((block.style.name if block.style is not None else "") or "")
        if level:
            first_heading = first_heading or text
            lines.append(f"\n{'#' * level} {text}\n")
        else:
            lines.append(text)
    return lines, first_heading


def read_docx(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    import docx
    from docx.opc.exceptions import OpcError

    damaged: tuple[type[BaseException], ...] = (OpcError, *DAMAGE)
    if head(path, 8).startswith(OLE_MAGIC):
        raise LoadError("encrypted DOCX, or an old binary .doc renamed (save it as .docx)")
    check_zip(path, ctx.limits, "DOCX")
    try:
        document = docx.Document(str(path))
        core_title = (document.core_properties.title or "").strip()
        lines, first_heading = _lines(document)
    except damaged as exc:
        raise LoadError(f"corrupt DOCX ({short(exc)})") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    text = "\n".join(lines).strip()
    if not text:
        raise LoadError("no text")
    return core_title or first_heading or _title(text), iter([Section(text=text)])
