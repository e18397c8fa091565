"""Read a file into clean text sections, or fail with a one-line reason.

A section is the unit that carries its own anchor: a PDF page ("page 3"), or a whole text
file (whose chunks get heading, timestamp or line anchors in chunking).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.cleaning import Marker, clean

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = TEXT_SUFFIXES | PDF_SUFFIXES
MAX_FILE_BYTES = 200 * 1024 * 1024
TITLE_MAX_CHARS = 100


class LoadError(Exception):
    """The file cannot be ingested; the message is the reason, without the path."""


@dataclass
class Section:
    text: str
    anchor: str = ""  # e.g. "page 3"; empty for a whole text file
    timestamps: list[Marker] = field(default_factory=list)


@dataclass
class LoadedDocument:
    path: Path
    title: str
    content_hash: str  # sha256 of the file's bytes: the same bytes are never indexed twice
    sections: list[Section]


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError("binary data, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")  # the usual non-UTF-8 text from office machines
    except UnicodeDecodeError as exc:
        raise LoadError("not UTF-8 and not decodable as Windows-1252 text") from exc


def _title_from_text(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= TITLE_MAX_CHARS else None
    return None


def _load_text(path: Path, data: bytes) -> tuple[str | None, list[Section]]:
    cleaned = clean(_decode(data))
    title = cleaned.title or _title_from_text(cleaned.text)
    return title, [Section(text=cleaned.text, timestamps=cleaned.timestamps)]


def _load_pdf(path: Path, data: bytes) -> tuple[str | None, list[Section]]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("encrypted PDF (remove the password first)")
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            cleaned = clean(page.extract_text() or "")
            if cleaned.text.strip():
                sections.append(Section(cleaned.text, f"page {number}", cleaned.timestamps))
        title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise LoadError(f"corrupt PDF ({exc})") from exc
    if not sections:
        raise LoadError("PDF has no extractable text (scanned images need OCR first)")
    return (str(title) if title else None), sections


def load(path: Path) -> LoadedDocument:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type '{suffix or path.name}'")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(f"too large ({size // 2**20} MiB > {MAX_FILE_BYTES // 2**20} MiB)")
        data = path.read_bytes()
    except PermissionError as exc:
        raise LoadError("permission denied") from exc
    except OSError as exc:
        raise LoadError(f"cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise LoadError("empty file")
    title, sections = (_load_pdf if suffix in PDF_SUFFIXES else _load_text)(path, data)
    if not any(s.text.strip() for s in sections):
        raise LoadError("no text")
    return LoadedDocument(
        path=path,
        title=title or path.stem,
        content_hash=hashlib.sha256(data).hexdigest(),
        sections=sections,
    )
