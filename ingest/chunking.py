"""Split a loaded document into chunks that each know where they came from.

Chunks are small (~700 characters, ~170 tokens): the embedder reads at most 256 tokens,
and every prompt token costs the user time on a CPU. Each chunk's anchor names the most
precise place available: PDF page, Markdown heading path, video timestamp, else lines.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, datetime

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.store import Chunk
from ingest.loaders import LoadedDocument, Section

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _headings(text: str) -> list[tuple[int, str]]:
    """(offset, "Top > Sub") for every Markdown heading, so a chunk can find its path."""
    stack: list[tuple[int, str]] = []
    paths = []
    for match in _HEADING.finditer(text):
        level = len(match.group(1))
        stack = [(lvl, name) for lvl, name in stack if lvl < level] + [(level, match.group(2))]
        paths.append((match.start(), " > ".join(name for _, name in stack)))
    return paths


def _anchor(section: Section, headings: list[tuple[int, str]], start: int, end: int) -> str:
    parts = [section.anchor]
    # The heading in force where the chunk starts (or the first one inside it).
    i = bisect_right([offset for offset, _ in headings], start) - 1
    if i < 0 and headings and headings[0][0] < end:
        i = 0
    if i >= 0:
        parts.append(headings[i][1])
    # A timestamp follows the sentence it cites: prefer the first one inside the chunk.
    inside = [m.label for m in section.timestamps if start <= m.offset <= end]
    before = [m.label for m in section.timestamps if m.offset < start]
    if inside or before:
        parts.append((inside or before[-1:])[0])
    anchor = " · ".join(p for p in parts if p)
    if anchor:
        return anchor
    first = section.text.count("\n", 0, start) + 1
    last = first + section.text.count("\n", start, end)
    return f"line {first}" if first == last else f"lines {first}–{last}"


def chunk_id(source: str, doc_hash: str, index: int) -> str:
    """Derived from the path and the content: the same file version always gets the same
    ids (a re-write is an idempotent upsert), and two files never share one."""
    key = f"{source}\x00{doc_hash}".encode()
    return f"{hashlib.sha256(key).hexdigest()[:20]}-{index}"


def chunk_document(
    doc: LoadedDocument, *, chunk_size: int, chunk_overlap: int, collection: str
) -> list[Chunk]:
    return list(
        iter_chunks(doc, chunk_size=chunk_size, chunk_overlap=chunk_overlap, collection=collection)
    )


def iter_chunks(
    doc: LoadedDocument, *, chunk_size: int, chunk_overlap: int, collection: str
) -> Iterator[Chunk]:
    """Chunks section by section, as the document's sections are read (streaming)."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=min(chunk_overlap, chunk_size // 2)
    )
    ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
    source = str(doc.path)
    index = 0
    for section in doc.sections:
        headings = _headings(section.text)
        search_from = 0
        for piece in splitter.split_text(section.text):
            # split_text drops offsets; find each piece from where the previous one started.
            start = section.text.find(piece, search_from)
            if start < 0:
                start = section.text.find(piece)
            search_from = max(start, 0) + 1
            end = start + len(piece)
            yield Chunk(
                id=chunk_id(source, doc.content_hash, index),
                text=piece,
                metadata={
                    "source": source,
                    "title": doc.title,
                    "anchor": _anchor(section, headings, start, end),
                    "doc_hash": doc.content_hash,
                    "chunk_index": index,
                    "ingested_at": ingested_at,
                    "collection": collection,
                },
            )
            index += 1
