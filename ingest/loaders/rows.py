"""Tables as text a chunk can be read alone from: every row written with its header row
("Region: North, Q3 revenue: 4.1M"), rows grouped into sections of about one chunk each, so
each chunk's anchor names its cell range ("Sales!A12:F40"). Shared by XLSX, ODS and CSV;
rows arrive one at a time, so a 100k-row sheet never sits whole in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ingest.loaders.base import Section

Row = tuple[int, list[str]]  # (the sheet's row number, one text per column)
RangeAnchor = Callable[[int, int, int], str]  # (first row, last row, columns) -> anchor


def cell_text(value: Any) -> str:
    """A cell's value as people read it: 4.1 not 4.1000000000000005, dates without 00:00."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:.15g}"
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())


def column_letters(n: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _line(header: list[str], cells: list[str]) -> str:
    pairs = []
    for i, value in enumerate(cells):
        if value:
            name = header[i] if i < len(header) and header[i] else column_letters(i + 1)
            pairs.append(f"{name}: {value}")
    return ", ".join(pairs)


def row_sections(rows: Iterable[Row], anchor: RangeAnchor, chunk_chars: int) -> Iterator[Section]:
    """The first non-empty row is the header; each later row one line "Header: value, ...";
    lines grouped up to `chunk_chars`, each group a section anchored by its range."""
    header: list[str] | None = None
    lines: list[str] = []
    size = first = last = columns = header_row = 0
    for number, cells in rows:
        if not any(cells):
            continue
        if header is None:
            header, header_row, columns = cells, number, len(cells)
            continue
        line = _line(header, cells)
        if lines and size + len(line) > chunk_chars:
            yield Section("\n".join(lines), anchor(first, last, columns))
            lines, size = [], 0
        if not lines:
            first = number
        lines.append(line)
        size += len(line) + 1
        last = number
        columns = max(columns, len(cells))
    if lines:
        yield Section("\n".join(lines), anchor(first, last, columns))
    elif header is not None:  # a header alone is still the sheet's content
        names = ", ".join(c for c in header if c)
        yield Section(names, anchor(header_row, header_row, len(header)))


def trim(cells: list[str]) -> list[str]:
    """Drop the empty cells at a row's end (sheets report thousands of them)."""
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]
