"""Read a file into clean text sections, or fail with a one-line reason.

A section is the unit that carries its own anchor: a PDF page ("page 3"), a part of a text or
Markdown file (~256k characters, ending at a line end; it knows its first line number, and
chunking carries the heading path across parts), or a whole HTML or DOCX file (HTML and DOCX
headings are written as Markdown headings so chunks get heading anchors too).

`open_document` streams: PDF pages and text parts are read one at a time as the caller
iterates `sections`, so neither a 2,000-page PDF nor a 200 MB log sits whole in memory; a
failure half-way raises `LoadError` from the iteration (a damaged PDF page is skipped and
named in `skipped` instead). HTML and DOCX are parsed whole, bounded by the size limit.
`load` reads everything at once (tests, small tools).
Parsing uses the field's libraries: pypdf, BeautifulSoup (`html.parser`), python-docx.
"""

from __future__ import annotations

import hashlib
import logging
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.cleaning import Marker, clean

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
PDF_SUFFIXES = {".pdf"}
HTML_SUFFIXES = {".html", ".htm"}
DOCX_SUFFIXES = {".docx"}
SUPPORTED = TEXT_SUFFIXES | PDF_SUFFIXES | HTML_SUFFIXES | DOCX_SUFFIXES
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_LINE_CHARS = 1_000_000  # one "line" longer than this is machine data, not prose
TITLE_MAX_CHARS = 100
TEXT_PART_CHARS = 1 << 18  # a text file is read and chunked ~256k characters at a time
_READ_BLOCK = 1 << 20

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its recoverable-damage warnings are noise


class LoadError(Exception):
    """The file cannot be ingested; the message is the reason, without the path."""


@dataclass
class Section:
    text: str
    anchor: str = ""  # e.g. "page 3"; empty for (a part of) a text file
    timestamps: list[Marker] = field(default_factory=list)
    first_line: int = 1  # the file's line number of the text's first line


@dataclass
class LoadedDocument:
    path: Path
    title: str
    content_hash: str  # sha256 of the file's bytes: the same bytes are never indexed twice
    sections: Iterable[Section]  # a list from `load`, a one-shot iterator from `open_document`
    # Parts left out as sections are read, each "page 7 (reason)": the rest is still indexed.
    skipped: list[str] = field(default_factory=list)


def os_reason(exc: OSError) -> str:
    """A one-line reason for an OSError met while reading a file or walking a folder."""
    import errno

    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if isinstance(exc, FileNotFoundError):
        return "no such file (a broken symlink?)"
    return f"cannot read ({exc.strerror or exc})"


def check_file(path: Path, max_bytes: int | None = None) -> int:
    """Refuse what must not be opened (unsupported, special files, too large, empty) before
    reading a byte: a FIFO would block the run forever. Returns the size."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type '{suffix or path.name}'")
    try:
        st = path.stat()
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    if stat.S_ISDIR(st.st_mode):
        raise LoadError("a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise LoadError("not a regular file (a device, socket or pipe)")
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    if st.st_size > max_bytes:
        raise LoadError(f"too large ({st.st_size / 2**20:.0f} MiB > {max_bytes / 2**20:.0f} MiB)")
    if st.st_size == 0:
        raise LoadError("empty file")
    return st.st_size


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(_READ_BLOCK):
                digest.update(block)
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    return digest.hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc


def _scan(path: Path, encoding: str) -> bool:
    """Decode the whole file in blocks (raising UnicodeDecodeError), refuse a monster line,
    and say whether there is any visible text: all before the first section is indexed."""
    visible = False
    run = 0  # characters since the last line end, carried across blocks
    with open(path, encoding=encoding, newline="") as f:
        while block := f.read(_READ_BLOCK):
            visible = visible or not block.isspace()
            lengths = [len(line) for line in block.replace("\r", "\n").split("\n")]
            lengths[0] += run
            if max(lengths) > MAX_LINE_CHARS:
                raise LoadError(
                    f"a line of over {MAX_LINE_CHARS:,} characters:"
                    " minified or machine data, not prose"
                )
            run = lengths[-1]
    return visible


def _encoding(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            if b"\x00" in f.read(8192):
                raise LoadError("binary data, not text")
        for encoding in ("utf-8-sig", "cp1252"):  # cp1252: the usual text from office machines
            try:
                if not _scan(path, encoding):
                    raise LoadError("empty file")
                return encoding
            except UnicodeDecodeError:
                continue
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    raise LoadError("not UTF-8 and not decodable as Windows-1252 text")


def _parts(path: Path, encoding: str) -> Iterator[str]:
    """The file's text in parts of about TEXT_PART_CHARS, each ending at a line end (at a blank
    line when there is one in its second half), so a 200 MB log never sits whole in memory."""
    buffer: list[str] = []
    size = 0
    with open(path, encoding=encoding, newline=None) as f:
        for line in f:
            buffer.append(line)
            size += len(line)
            if size < TEXT_PART_CHARS:
                continue
            cut = len(buffer)
            for i in range(len(buffer) - 1, len(buffer) // 2, -1):
                if not buffer[i].strip():
                    cut = i + 1
                    break
            yield "".join(buffer[:cut])
            buffer = buffer[cut:]
            size = sum(map(len, buffer))
    if buffer:
        yield "".join(buffer)


def _title_from_text(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= TITLE_MAX_CHARS else None
    return None


def _text(path: Path, skipped: list[str]) -> tuple[str | None, Iterator[Section]]:
    """Plain text and Markdown, read in parts: the first part is read now (for the title),
    the rest as the caller iterates. Each part remembers its first line number."""
    encoding = _encoding(path)
    parts = _parts(path, encoding)
    first = clean(next(parts, ""))
    title = first.title or _title_from_text(first.text)

    def sections() -> Iterator[Section]:
        found = False
        line = 1
        cleaned = first
        while True:
            if cleaned.text.strip():
                found = True
                yield Section(cleaned.text, timestamps=cleaned.timestamps, first_line=line)
            line += cleaned.text.count("\n")
            part = next(parts, None)
            if part is None:
                break
            cleaned = clean(part, front_matter=False)
        if not found:
            raise LoadError("no text")

    return title, sections()


# --- PDF -----------------------------------------------------------------------------
def _pdf(path: Path, skipped: list[str]) -> tuple[str | None, Iterator[Section]]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    no_header = b"%PDF-" not in head
    damaged = (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError)
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:  # owner-password-only PDFs (print/copy restrictions) open with ""
                opened = reader.decrypt("") != 0
            except (FileNotDecryptedError, DependencyError, NotImplementedError):
                opened = False
            if not opened:
                raise LoadError("encrypted PDF (needs a password; remove it first)")
        pages = len(reader.pages)
        info = reader.metadata
        title = info.get("/Title") if info else None
    except LoadError:
        raise
    except RecursionError as exc:
        raise LoadError("corrupt PDF (object references loop)") from exc
    except damaged as exc:
        if no_header:
            raise LoadError("corrupt PDF (no %PDF header: not a PDF file)") from exc
        raise LoadError(f"corrupt PDF ({_short(exc)})") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc

    def pages_text() -> Iterator[Section]:
        found = False
        for number in range(1, pages + 1):
            # One damaged page must not cost the other 499: skip it and say so.
            try:
                text = reader.pages[number - 1].extract_text() or ""
            except RecursionError:
                skipped.append(f"page {number} (object references loop)")
                continue
            except damaged as exc:
                skipped.append(f"page {number} ({_short(exc)})")
                continue
            cleaned = clean(text)
            if cleaned.text.strip():
                found = True
                yield Section(cleaned.text, f"page {number}", cleaned.timestamps)
        if skipped and not found:
            raise LoadError(f"corrupt PDF (no readable page; {skipped[0]})")
        if not found:
            raise LoadError("PDF has no extractable text (scanned images need OCR first)")

    return (str(title).strip() or None) if title else None, pages_text()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


# --- HTML ----------------------------------------------------------------------------
_BLOCKS = [  # block elements: each ends a line of visible text
    *("p", "div", "section", "article", "main", "aside", "header", "footer", "nav", "br"),
    *("li", "ul", "ol", "table", "tr", "td", "th", "pre", "blockquote", "dd", "dt", "dl"),
    *("figure", "figcaption", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr"),
]
_INVISIBLE = ["script", "style", "noscript", "template", "svg", "head", "iframe", "object"]


def _html(path: Path, skipped: list[str]) -> tuple[str | None, Iterator[Section]]:
    """Visible text only; <title> (else the first <h1>) is the title; headings become
    Markdown headings so chunks get a heading-path anchor."""
    from bs4 import BeautifulSoup

    data = _read(path)
    if not data.strip():
        raise LoadError("empty file")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError("binary data, not HTML")
    soup = BeautifulSoup(data, "html.parser")  # detects the charset from <meta> or BOM
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    for tag in soup(_INVISIBLE):
        tag.decompose()
    for tag in soup.find_all(re.compile(r"^h[1-6]$")):
        tag.insert_before("\n" + "#" * int(tag.name[1]) + " ")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_after("\n")
    text = re.sub(r"[ \t\r\f\v]+", " ", soup.get_text())
    text = re.sub(r" *\n[ \n]*\n *", "\n\n", text).strip()
    if not text:
        raise LoadError("no visible text")
    if not title:
        first = re.search(r"^# (.+)$", text, re.MULTILINE)
        title = first.group(1).strip() if first else _title_from_text(text)
    return title, iter([Section(text=text)])


# --- DOCX ----------------------------------------------------------------------------
def _docx(path: Path, skipped: list[str]) -> tuple[str | None, Iterator[Section]]:
    """Paragraphs and tables in document order; the Title style becomes a level-1 Markdown
    heading and Heading N a level N+1 one, so chunks get a heading-path anchor."""
    import zipfile

    import docx
    from docx.opc.exceptions import OpcError
    from docx.table import Table

    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE container, not a zip
        raise LoadError("encrypted DOCX, or an old binary .doc renamed (save it as .docx)")
    try:
        document = docx.Document(str(path))
        core_title = (document.core_properties.title or "").strip()
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
            style = (block.style.name if block.style is not None else "") or ""
            level = 0
            if style == "Title":
                level = 1
            elif style.startswith("Heading ") and style[8:].isdigit():
                level = min(int(style[8:]) + 1, 6)  # under the Title
            if level:
                first_heading = first_heading or text
                lines.append(f"\n{'#' * level} {text}\n")
            else:
                lines.append(text)
    except (zipfile.BadZipFile, OpcError, KeyError, ValueError) as exc:
        raise LoadError(f"corrupt DOCX ({_short(exc)})") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    text = "\n".join(lines).strip()
    if not text:
        raise LoadError("no text")
    return core_title or first_heading or _title_from_text(text), iter([Section(text=text)])


_READERS = {
    **dict.fromkeys(TEXT_SUFFIXES, _text),
    **dict.fromkeys(PDF_SUFFIXES, _pdf),
    **dict.fromkeys(HTML_SUFFIXES, _html),
    **dict.fromkeys(DOCX_SUFFIXES, _docx),
}


def open_document(
    path: Path, *, max_bytes: int | None = None, content_hash: str | None = None
) -> LoadedDocument:
    """Check and open a file; its sections are read lazily as the caller iterates them."""
    check_file(path, max_bytes)
    digest = content_hash or file_hash(path)
    skipped: list[str] = []  # a reader appends the parts it leaves out, as it reads them
    title, sections = _READERS[path.suffix.lower()](path, skipped)
    return LoadedDocument(
        path=path, title=title or path.stem, content_hash=digest, sections=sections, skipped=skipped
    )


def load(path: Path, *, max_bytes: int | None = None) -> LoadedDocument:
    """Read a whole file at once (every section in a list)."""
    doc = open_document(path, max_bytes=max_bytes)
    doc.sections = list(doc.sections)
    return doc
