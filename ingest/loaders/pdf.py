"""PDF, a page at a time: pypdf's text layer, each page a section anchored "page N".

A page with no text layer (a scan), or one that is junk, is rendered with pypdfium2 and
OCR'd (Tesseract; see ocr.py): its anchor says so, "page 3 (OCR, 91%)". Pages with text
are never OCR'd. A damaged page is skipped and named in the file's result; the other pages
are indexed. One page is rendered at a time, so a 500-page scan stays flat in memory.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.cleaning import clean
from ingest.loaders.base import LoadError, ReadContext, Section, head, os_reason, short
from ingest.loaders.images import MAX_PIXELS
from ingest.loaders.ocr import engine_problem, ocr_error, ocr_section

OCR_DPI = 300  # what Tesseract reads best
MIN_TEXT_CHARS = 20  # fewer letters and digits than this: a scan (or a page number only)

FORGET_EVERY = 20  # pages; without it a 500-page scan kept ~35 MiB of parsed objects
logging.getLogger("pypdf").setLevel(logging.ERROR)  # its recoverable-damage warnings are noise


# PyPdfError: every error pypdf raises for a damaged file (its LimitReachedError, for a
# self-referencing object, is not a PdfReadError)
DAMAGED = (ValueError, KeyError, TypeError, AttributeError, IndexError)


def _open(path: Path, handle: Any) -> tuple[Any, int, str | None]:
    """pypdf's reader, page count and title, or a `LoadError` saying why not."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    try:
        reader = PdfReader(handle)
        if reader.is_encrypted:
            try:  # owner-password-only PDFs (print/copy restrictions) open with ""
                opened = reader.decrypt("") != 0
            except (FileNotDecryptedError, DependencyError, NotImplementedError):
                opened = False
            if not opened:
                raise LoadError("encrypted PDF (needs a password; remove it first)")
        info = reader.metadata
        title = info.get("/Title") if info else None
        return reader, len(reader.pages), (str(title).strip() or None) if title else None
    except LoadError:
        raise
    except RecursionError as exc:
        raise LoadError("corrupt PDF (object references loop)") from exc
    except (PyPdfError, *DAMAGED) as exc:
        if b"%PDF-" not in head(path):
            raise LoadError("corrupt PDF (no %PDF header: not a PDF file)") from exc
        raise LoadError(f"corrupt PDF ({short(exc)})") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc


def read_pdf(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    from pypdf.errors import PyPdfError

    damaged = (PyPdfError, *DAMAGED)
    try:  # a file object: given a path, pypdf reads the whole file into memory
        handle = open(path, "rb")  # noqa: SIM115 -- closed once the pages are read
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    try:
        reader, pages, title = _open(path, handle)
    except BaseException:
        handle.close()
        raise

    def read_pages() -> Iterator[Section]:
        found = False
        skipped = ctx.skipped
        scans = _Scans(path, ctx)
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
            if number % FORGET_EVERY == 0:  # pypdf caches every object it parsed: drop them
                reader.resolved_objects.clear()
            cleaned = clean(text)
            section = Section(cleaned.text, f"page {number}", cleaned.timestamps)
            if needs_ocr(cleaned.text):
                section = scans.page(number, section)
            if section.text.strip():
                found = True
                yield section
        scans.close()
        if not found and scans.problem:
            raise LoadError(f"scanned PDF: {scans.problem}")
        if skipped and not found:
            raise LoadError(f"corrupt PDF (no readable page; {skipped[0]})")
        if not found:
            raise LoadError("PDF has no extractable text, not even by OCR (blank pages?)")

    def pages_text() -> Iterator[Section]:
        try:
            yield from read_pages()
        finally:
            handle.close()

    sections = pages_text()
    weakref.finalize(sections, handle.close)  # also when the pages are never read
    return title, sections


def needs_ocr(text: str) -> bool:
    """No text layer worth the name: (almost) no letters, or mostly symbols."""
    alnum = sum(c.isalnum() for c in text)
    visible = len(text) - sum(c.isspace() for c in text)
    return alnum < MIN_TEXT_CHARS or alnum < 0.5 * visible or text.count("(cid:") > 10


class _Scans:
    """Renders and OCRs the pages that need it; the PDF is opened for rendering only when
    the first such page comes, and each page's bitmap is freed before the next."""

    def __init__(self, path: Path, ctx: ReadContext) -> None:
        self.path, self.ctx = path, ctx
        self.problem = engine_problem(ctx.limits.ocr_languages)
        self.pdf: Any = None

    def page(self, number: int, layer: Section) -> Section:
        """The OCR'd page, else the text layer it had (when OCR found less or failed)."""
        if self.problem:
            if not layer.text.strip():
                self.ctx.skipped.append(f"page {number} (a scan: {self.problem})")
            return layer
        limits = self.ctx.limits
        try:
            image = self._render(number - 1)
            ocr = ocr_section(
                image, f"page {number}", limits.ocr_languages, limits.ocr_min_confidence
            )
        except (RuntimeError, OSError, ValueError) as exc:
            self.ctx.skipped.append(f"page {number} ({ocr_error(exc)})")
            return layer
        better = ocr and sum(map(str.isalnum, ocr.text)) > sum(map(str.isalnum, layer.text))
        return ocr if ocr and better else layer

    def _render(self, index: int) -> Any:
        import pypdfium2 as pdfium

        if self.pdf is None:
            self.pdf = pdfium.PdfDocument(str(self.path))
        page = self.pdf[index]
        try:
            width, height = page.get_size()  # points: 1/72 inch
            scale = OCR_DPI / 72
            if width * height * scale * scale > MAX_PIXELS:  # a poster-sized page
                scale = math.sqrt(MAX_PIXELS / max(width * height, 1))
            return page.render(scale=scale).to_pil()  # holds its bitmap until dropped
        finally:
            page.close()

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()
            self.pdf = None
