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
from dataclasses import dataclass, field
from datetime import UTC, datetime

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.store import Chunk
from ingest.loaders import LoadedDocument, Section
from ingest.titles import derive_title

# `(.+)` then a strip in Python: the old `(.+?)[ \t#]*$` rescanned a line's tail at every
# character (quadratic on a long line of "# #").
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+)$", re.MULTILINE)


Stack = list[tuple[int, str]]  # the open headings: (level, name), outermost first


def _headings(text: str, stack: Stack) -> tuple[list[tuple[int, str]], Stack]:
    """(offset, "Top > Sub") for every Markdown heading, so a chunk can find its path, and the
    stack still open at the end (a file read in parts carries it into the next part)."""
    paths = []
    for match in _HEADING.finditer(text):
        level = len(match.group(1))
        name = match.group(2).rstrip(" \t#") or match.group(2)[0]
        stack = [(lvl, n) for lvl, n in stack if lvl < level] + [(level, name)]
        paths.append((match.start(), " > ".join(name for _, name in stack)))
    return paths, stack


@dataclass
class _Context:
    """What a section of a text file read in parts inherits from the parts before it."""

    stack: Stack = field(default_factory=list)
    timestamp: str = ""

    @property
    def heading(self) -> str:
        return " > ".join(name for _, name in self.stack)

    def carry(self, section: Section, stack: Stack) -> None:
        self.stack = stack
        if section.timestamps:
            self.timestamp = section.timestamps[-1].label


def _anchor(
    section: Section, headings: list[tuple[int, str]], start: int, end: int, before: _Context
) -> str:
    parts = [section.anchor]
    # The heading in force where the chunk starts (or the first one inside it).
    i = bisect_right([offset for offset, _ in headings], start) - 1
    if i < 0 and headings and headings[0][0] < end:
        i = 0
    parts.append(headings[i][1] if i >= 0 else before.heading)
    # A timestamp follows the sentence it cites: prefer the first one inside the chunk.
    inside = [m.label for m in section.timestamps if start <= m.offset <= end]
    earlier = [m.label for m in section.timestamps if m.offset < start]
    parts.append((inside or earlier[-1:] or [before.timestamp])[0])
    anchor = " · ".join(p for p in parts if p)
    if anchor:
        return anchor
    first = section.first_line + section.text.count("\n", 0, start)
    last = first + section.text.count("\n", start, end)
    return f"line {first}" if first == last else f"lines {first}–{last}"


# Bump when chunking changes what it produces (splitting, anchors, metadata): every document
# then counts as changed and is re-chunked on the next ingest, instead of keeping old chunks.
# 3: titles derived from the text (ingest/titles.py) and the file's size (`file_bytes`).
CHUNKING_VERSION = 3


def _file_bytes(doc: LoadedDocument) -> dict[str, int]:
    """{"file_bytes": n} for the Documents page's size column; {} when it cannot be read."""
    try:
        return {"file_bytes": doc.path.stat().st_size}
    except OSError:
        return {}


def document_version(content_hash: str, chunk_size: int, chunk_overlap: int) -> str:
    """The key of one indexed version of a file: its bytes and how they were chunked. A new
    chunk size is a new version, so a plain re-ingest re-chunks (all-or-nothing per file)."""
    key = f"{content_hash}\x00{chunk_size}\x00{chunk_overlap}\x00{CHUNKING_VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()


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
    version = document_version(doc.content_hash, chunk_size, chunk_overlap)
    index = 0
    context = _Context()
    size = _file_bytes(doc)
    for section in doc.sections:
        # Before the first chunk, so every chunk (and the manifest) has the derived title.
        if not doc.titled and index == 0 and (found := derive_title(section.text)):
            doc.title, doc.titled = found, True
        if section.anchor:  # a PDF page inherits nothing from the page before
            context = _Context()
        headings, stack = _headings(section.text, context.stack)
        search_from = 0
        for piece in splitter.split_text(section.text):
            # split_text drops offsets; find each piece from where the previous one started.
            start = section.text.find(piece, search_from)
            if start < 0:
                start = section.text.find(piece)
            search_from = max(start, 0) + 1
            end = start + len(piece)
            yield Chunk(
                id=chunk_id(source, version, index),
                text=piece,
                metadata={
                    **doc.metadata,
                    **section.metadata,
                    "source": source,
                    "title": doc.title,
                    "anchor": _anchor(section, headings, start, end, context),
                    "doc_hash": version,  # what the store's manifest calls a version
                    "content_hash": doc.content_hash,  # sha256 of the file's bytes
                    "chunk_index": index,
                    "ingested_at": ingested_at,
                    "collection": collection,
                    **size,
                },
            )
            index += 1
        context.carry(section, stack)
