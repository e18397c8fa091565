"""Read a file into clean text sections, or fail with a one-line reason.

A section is the unit that carries its own anchor: a PDF page ("page 3"), a part of a text or
Markdown file (~256k characters, ending at a line end; it knows its first line number, and
chunking carries the heading path across parts), or a whole HTML or DOCX file (headings are
written as Markdown headings so chunks get heading anchors too). Each format is one module
of this package; `READERS` maps a file suffix to its reader.

`open_document` streams: PDF pages and text parts are read one at a time as the caller
iterates `sections`, so neither a 2,000-page PDF nor a 200 MB log sits whole in memory; a
failure half-way raises `LoadError` from the iteration (a damaged PDF page is skipped and
named in `skipped` instead). `load` reads everything at once (tests, small tools).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from ingest.loaders.base import (
    MAX_FILE_BYTES,
    Attachment,
    Limits,
    LoadedDocument,
    LoadError,
    ReadContext,
    Reader,
    Section,
    file_hash,
    os_reason,
    said_as_warnings,
    warned,
)
from ingest.loaders.base import check_file as _check_file
from ingest.loaders.docx import read_docx
from ingest.loaders.html import read_html
from ingest.loaders.images import read_image
from ingest.loaders.mail import read_eml, read_mbox, read_msg
from ingest.loaders.opendocument import read_opendocument
from ingest.loaders.pdf import read_pdf
from ingest.loaders.sheets import read_csv, read_xlsx
from ingest.loaders.slides import read_pptx
from ingest.loaders.text import MAX_LINE_CHARS, TEXT_PART_CHARS, read_text

__all__ = [
    "MAX_FILE_BYTES",
    "Attachment",
    "MAX_LINE_CHARS",
    "READERS",
    "SUPPORTED",
    "TEXT_PART_CHARS",
    "LoadError",
    "LoadedDocument",
    "Limits",
    "Section",
    "check_file",
    "file_hash",
    "load",
    "open_document",
    "os_reason",
]

READERS: dict[str, Reader] = {
    **dict.fromkeys((".txt", ".md", ".markdown", ".text"), read_text),
    ".pdf": read_pdf,
    **dict.fromkeys((".html", ".htm"), read_html),
    ".docx": read_docx,
    ".xlsx": read_xlsx,
    ".xlsm": read_xlsx,
    ".csv": read_csv,
    ".tsv": read_csv,
    ".pptx": read_pptx,
    **dict.fromkeys((".odt", ".ods", ".odp"), read_opendocument),
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".tif", ".tiff"), read_image),
    ".msg": read_msg,  # refused with its reason, not as an unknown type
}
# Mail reads its attachments with the readers above (and nested mail with its own).
READERS[".eml"] = partial(read_eml, readers=lambda suffix: READERS.get(suffix))
READERS[".mbox"] = partial(read_mbox, readers=lambda suffix: READERS.get(suffix))
SUPPORTED = frozenset(READERS)


def check_file(path: Path, max_bytes: int | None = None) -> int:
    """Refuse what must not be opened (unsupported, special files, too large, empty) before
    reading a byte: a FIFO would block the run forever. Returns the size."""
    return _check_file(path, SUPPORTED, MAX_FILE_BYTES if max_bytes is None else max_bytes)


def open_document(
    path: Path,
    *,
    max_bytes: int | None = None,
    content_hash: str | None = None,
    limits: Limits | None = None,
) -> LoadedDocument:
    """Check and open a file; its sections are read lazily as the caller iterates them."""
    limits = limits or Limits(max_bytes=MAX_FILE_BYTES if max_bytes is None else max_bytes)
    check_file(path, limits.max_bytes if max_bytes is None else max_bytes)
    digest = content_hash or file_hash(path)
    ctx = ReadContext(limits=limits)  # a reader appends what it leaves out, as it reads
    with said_as_warnings(ctx.warnings):
        title, sections = READERS[path.suffix.lower()](path, ctx)
    return LoadedDocument(
        path=path,
        title=title or path.stem,
        titled=bool(title),
        content_hash=digest,
        sections=warned(sections, ctx.warnings),
        skipped=ctx.skipped,
        metadata=ctx.metadata,
        warnings=ctx.warnings,
        attachments=ctx.attachments,
    )


def load(
    path: Path, *, max_bytes: int | None = None, limits: Limits | None = None
) -> LoadedDocument:
    """Read a whole file at once (every section in a list)."""
    doc = open_document(path, max_bytes=max_bytes, limits=limits)
    doc.sections = list(doc.sections)
    return doc
