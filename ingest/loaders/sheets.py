"""Spreadsheets: XLSX (openpyxl, read-only: rows stream from the zip, formulas give the
values Excel cached) and CSV (the stdlib, in the encoding the text reader detects). Each
sheet's rows become sections of about one chunk, anchored by cell range ("Sales!A12:F40",
CSV "rows 12-40"), each row written with its header."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.loaders.base import LoadError, ReadContext, Section, head, os_reason, short
from ingest.loaders.docx import OLE_MAGIC
from ingest.loaders.rows import RangeAnchor, Row, cell_text, column_letters, row_sections, trim
from ingest.loaders.text import detect_encoding
from ingest.loaders.zipguard import DAMAGE, check_zip

_SNIFF_CHARS = 8192  # the csv Sniffer's regexes are slow on long samples


def _sheet_rows(sheet: Any) -> Iterator[Row]:
    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        yield number, trim([cell_text(v) for v in values])


def _anchor(sheet: str) -> RangeAnchor:
    quoted = f"'{sheet}'" if not sheet.replace("_", "").isalnum() else sheet
    return lambda a, b, cols: f"{quoted}!A{a}:{column_letters(max(cols, 1))}{b}"


def read_xlsx(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    import openpyxl

    if head(path, 8).startswith(OLE_MAGIC):
        raise LoadError("password-protected XLSX, or an old binary .xls renamed (save as .xlsx)")
    check_zip(path, ctx.limits, "XLSX")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        title = (book.properties.title or "").strip() or None
    except DAMAGE as exc:
        raise LoadError(f"corrupt XLSX ({short(exc)})") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc

    def sections() -> Iterator[Section]:
        found = False
        try:
            for sheet in book.worksheets:
                rows = _sheet_rows(sheet)
                for section in row_sections(rows, _anchor(sheet.title), ctx.limits.chunk_chars):
                    found = True
                    yield section
        except DAMAGE as exc:
            raise LoadError(f"corrupt XLSX ({short(exc)})") from exc
        finally:
            book.close()
        if not found:
            raise LoadError("no text (every sheet is empty)")

    return title, sections()


def _csv_rows(path: Path, encoding: str) -> Iterator[Row]:
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        sample = f.read(_SNIFF_CHARS)
        f.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader((line.replace("\x00", "") for line in f), dialect)
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, trim([" ".join(c.split()) for c in cells])
        except csv.Error as exc:
            raise LoadError(f"corrupt CSV (line {reader.line_num}: {short(exc)})") from exc


def read_csv(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    """Checked like a text file first (encoding, binary data, a monster line)."""
    encoding = detect_encoding(path, ctx)

    def anchor(a: int, b: int, cols: int) -> str:
        return f"row {a}" if a == b else f"rows {a}\u2013{b}"

    def sections() -> Iterator[Section]:
        found = False
        for section in row_sections(_csv_rows(path, encoding), anchor, ctx.limits.chunk_chars):
            found = True
            yield section
        if not found:
            raise LoadError("no text")

    return None, sections()
