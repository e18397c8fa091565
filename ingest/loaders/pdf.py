"""PDF, a page at a time: pypdf's text layer, each page a section anchored "page N".

A damaged page is skipped and named in the file's result; the other pages are indexed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from ingest.cleaning import clean
from ingest.loaders.base import LoadError, ReadContext, Section, head, os_reason, short

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its recoverable-damage warnings are noise


def read_pdf(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    no_header = b"%PDF-" not in head(path)
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
        raise LoadError(f"corrupt PDF ({short(exc)})") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc

    def pages_text() -> Iterator[Section]:
        found = False
        skipped = ctx.skipped
        for number in range(1, pages + 1):
            # One damaged page must not cost the other 499: skip it and say so.
            try:
                text = reader.pages[number - 1].extract_text() or ""
            except RecursionError:
                skipped.append(f"page {number} (object references loop)")
                continue
            except damaged as exc:
                skipped.append(f"page {number} ({short(exc)})")
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
