"""Attachments as documents of their own (issue 16.4).

A mail's `report.pdf` is stored as the document `<mail path>/report.pdf` (in a mailbox,
`<mbox path>/message 3/report.pdf`), titled and anchored 'attachment of "Budget" (q3.eml)',
with the mail's headers and `parent_source` in its chunks' metadata, and written with the
same all-or-nothing version flip as any file.

The link is the path: a document stored under another document's path belongs to it (no
file can sit under a file). So removing the mail removes its attachments (the store does
it), a sync never prunes the attachments of a mail it has seen, and a new version of the
mail removes the attachments the old one had and the new one has not. Attachments are
committed (the writer flushed) before their mail ends, so the mail's new version is never
active without them; a run killed in between redoes the mail on the next run, skipping the
attachments it already stored.

An attachment's version is derived from its mail's version and its place in the mail (its
key), not from its bytes alone: a copy of it elsewhere on disk is never taken for it
(`ingest_paths` re-uses a moved file's vectors by version).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Container, Iterable, Iterator
from pathlib import Path, PurePath
from typing import Literal

from assistant.store import DocumentWriter
from ingest.chunking import document_version, iter_chunks
from ingest.loaders import Attachment, Limits, LoadedDocument, LoadError, Section, open_document
from ingest.loaders.base import guarded

MAX_DEPTH = 3  # a mail attached to a mail attached to a mail; deeper ones are named, not read
Outcome = Literal["failed", "removed"]
Say = Callable[[str, Outcome, str], None]  # an attachment's result line: source, what, why


def attached_to(source: str, seen: Container[str]) -> bool:
    """Whether `source` is stored under the path of one of the files in `seen`."""
    return any(str(parent) in seen for parent in PurePath(source).parents)


def _anchored(sections: Iterable[Section], where: str) -> Iterator[Section]:
    for section in sections:
        section.anchor = f"{where} · {section.anchor}" if section.anchor else where
        yield section


class Attachments:
    """Writes the attachments of the documents one ingest run writes."""

    def __init__(
        self,
        writer: DocumentWriter,
        stored: Iterable[str],
        limits: Limits,
        chunking: tuple[int, int],
        notes: dict[str, str],
        say: Say,
    ) -> None:
        self.writer, self.limits, self.chunking = writer, limits, chunking
        self.stored = sorted(stored)  # the collection's documents when the run began
        self.notes = notes  # source -> what its result line says (skipped pages, ...)
        self.say = say

    def under(self, source: str) -> list[str]:
        """The documents stored under `source`'s path when the run began."""
        prefix = source.rstrip("/") + "/"
        start = bisect.bisect_left(self.stored, prefix)
        found = []
        for stored in self.stored[start:]:
            if not stored.startswith(prefix):
                break
            found.append(stored)
        return found

    def write(self, doc: LoadedDocument, source: str, version: str, depth: int = 0) -> set[str]:
        """Store `doc`'s attachments; call it after the document's chunks were added and
        before `writer.end(source)`. Returns the sources written or kept."""
        kept: set[str] = set()
        try:
            for attachment in doc.attachments:
                kept |= self._write_one(attachment, source, version, depth)
        finally:
            for attachment in doc.attachments:
                attachment.close()
        if depth == 0:
            if doc.attachments:  # committed now: the mail must not become active before them
                self.writer.flush()
            stale = [s for s in self.under(source) if s not in kept]
            if stale:  # attached to the old version of the mail only (or unreadable now)
                self.writer.remove(stale)
                for s in stale:
                    self.say(s, "removed", "no longer attached")
        return kept

    def _write_one(
        self, attachment: Attachment, parent: str, parent_version: str, depth: int
    ) -> set[str]:
        source = f"{parent}/{attachment.key}"
        identity = hashlib.sha256(f"{parent_version}\x00{attachment.key}".encode()).hexdigest()
        version = document_version(identity, *self.chunking)
        if self.writer.active_hash(source) == version:  # stored by a run killed before its mail
            return {source, *self.under(source)}
        begun = False
        try:
            if depth >= MAX_DEPTH:
                raise LoadError(f"attached over {MAX_DEPTH} levels deep (not read)")
            doc = open_document(attachment.path, content_hash=identity, limits=self.limits)
            doc.path, doc.title, doc.titled = Path(source), attachment.where, True
            doc.metadata.update(attachment.metadata, parent_source=parent)
            doc.metadata["attachment"] = Path(attachment.key).name
            doc.sections = _anchored(guarded(doc.sections), attachment.where)
            self.writer.begin(source, version, doc.title)
            begun = True
            size, overlap = self.chunking
            collection = self.writer.collection
            n = 0
            for chunk in iter_chunks(
                doc, chunk_size=size, chunk_overlap=overlap, collection=collection
            ):
                self.writer.add(chunk)
                n += 1
            if n == 0:
                raise LoadError("no text")
        except LoadError as exc:
            if begun:
                self.writer.abort(source)
            self.say(source, "failed", f"{attachment.where}: {exc}")
            return set()
        except Exception as exc:  # a parser bug in open_document: this attachment's failure
            if begun:
                raise
            self.say(source, "failed", f"{attachment.where}: cannot parse ({type(exc).__name__})")
            return set()
        kept = self.write(doc, source, version, depth + 1)
        said = list(doc.warnings)
        if doc.skipped:
            said.append(f"skipped unreadable {', '.join(doc.skipped)}")
        if said:
            self.notes[source] = "; ".join(said)[:300]
        self.writer.end(source)
        return {source, *kept}
