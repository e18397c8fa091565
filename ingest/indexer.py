"""Make a collection match a set of files: add new ones, replace changed ones, skip the rest,
and with `prune` remove the documents whose files are gone.

Files are keyed by absolute path and by the sha256 of their bytes (hashed in blocks, before
any parsing), so a second run over the same tree parses and embeds nothing. Each file is
streamed (a PDF page by page) into the store's `DocumentWriter`, which embeds in batches
across files and makes each document visible whole or not at all: a crash or kill at any
moment leaves every document fully old or fully new, and the next run cleans up.

A file that cannot be read is reported with its path and a one-line reason and skipped;
nothing stored is lost (a changed file that fails keeps its old version).
"""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from assistant.store import Chunk, DocumentWriter, Store
from ingest.attachments import Attachments, attached_to
from ingest.chunking import chunk_id, document_version, iter_chunks
from ingest.loaders import (
    Limits,
    LoadError,
    check_file,
    file_hash,
    open_document,
    os_reason,
)
from ingest.loaders.base import guarded as _guarded

Status = Literal["added", "updated", "unchanged", "removed", "failed"]
STATUSES: tuple[Status, ...] = ("added", "updated", "unchanged", "removed", "failed")


@dataclass(frozen=True)
class FileResult:
    path: str
    status: Status
    chunks: int = 0
    reason: str = ""


@dataclass
class IngestReport:
    collection: str
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0  # of `seconds`, the embedder's: the rest is reading, writing

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.results)
        return {s: counts.get(s, 0) for s in STATUSES}

    @property
    def chunks(self) -> int:
        return sum(r.chunks for r in self.results)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    def to_dict(self) -> dict[str, object]:
        return {
            "collection": self.collection,
            "counts": self.counts,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "embed_seconds": round(self.embed_seconds, 3),
            "files": [asdict(r) for r in self.results],
        }


def _walk_error(error: OSError) -> FileResult:
    return FileResult(str(error.filename or "?"), "failed", reason=os_reason(error))


def iter_files(paths: Iterable[Path]) -> Iterator[Path | FileResult]:
    """Files under the given paths, sorted, hidden ones skipped; what cannot be walked or is
    a symlink to a directory comes back as a failure. Directory symlinks are never followed,
    so a link loop cannot trap the walk."""
    for path in paths:
        path = Path(os.path.abspath(path))
        if path.is_symlink() and not path.exists():
            try:
                path.stat()
            except OSError as exc:
                yield FileResult(str(path), "failed", reason=os_reason(exc))
            continue
        if not path.exists():
            yield FileResult(str(path), "failed", reason="no such file or directory")
        elif path.is_dir():
            errors: list[FileResult] = []
            for root, dirs, files in os.walk(path, followlinks=False, onerror=_collect(errors)):
                yield from errors
                errors.clear()
                for d in sorted(dirs):
                    if not d.startswith(".") and os.path.islink(os.path.join(root, d)):
                        reason = "symlink to a directory, not followed (pass its target instead)"
                        yield FileResult(os.path.join(root, d), "failed", reason=reason)
                dirs[:] = sorted(
                    d
                    for d in dirs
                    if not d.startswith(".") and not os.path.islink(os.path.join(root, d))
                )
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root, name)
            yield from errors
        else:
            yield path


def _collect(errors: list[FileResult]) -> Callable[[OSError], None]:
    return lambda error: errors.append(_walk_error(error))


def count_files(paths: Iterable[Path]) -> int:
    """How many files `iter_files` will yield (for a progress bar's total): a walk, no reads."""
    return sum(1 for item in iter_files(paths) if isinstance(item, Path))


def _under(source: str, roots: Sequence[str]) -> bool:
    return any(source == r or source.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def ingest_paths(
    paths: Iterable[Path],
    store: Store,
    *,
    chunk_size: int,
    chunk_overlap: int,
    collection: str | None = None,
    prune: bool = False,
    exact: bool = False,
    max_file_bytes: int | None = None,
    limits: Limits | None = None,
    batch: int | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    on_chunks: Callable[[int], None] | None = None,
) -> IngestReport:
    """Sync the collection with the files under `paths`; see the module docstring.

    `exact` removes every document of the collection that is not among these files (only
    when every path could be walked). `on_file` gets each file's final result (a written
    file's once it is committed); `on_chunks` the number of chunks each written batch held
    (for a progress display).
    """
    started = time.perf_counter()
    if limits is None:
        limits = Limits() if max_file_bytes is None else Limits(max_bytes=max_file_bytes)
    limits = replace(limits, chunk_chars=chunk_size)  # table rows grouped a chunk at a time
    roots = [Path(os.path.abspath(p)) for p in paths]
    name = collection or store.default_collection
    sync = _Sync(store, IngestReport(collection=name), limits, (chunk_size, chunk_overlap), on_file)
    options = {} if batch is None else {"batch": batch}
    with store.writer(name, on_commit=sync.committed, on_batch=on_chunks, **options) as writer:
        sync.start(writer)
        for item in iter_files(roots):
            sync.add(item)
        writer.flush()
        sync.report.embed_seconds = writer.embed_seconds
        gone = sync.gone(roots, exact=exact, prune=prune)
        if gone:
            writer.remove(gone)
            for source in gone:
                sync.emit(FileResult(source, "removed"))
    sync.report.seconds = time.perf_counter() - started
    return sync.report


class _Sync:
    """One run of `ingest_paths`: what the collection holds, what this run has seen, and
    the result of each file so far (a written file's comes when the writer commits it)."""

    writer: DocumentWriter

    def __init__(
        self,
        store: Store,
        report: IngestReport,
        limits: Limits,
        chunking: tuple[int, int],
        on_file: Callable[[FileResult], None] | None,
    ) -> None:
        self.store, self.report, self.limits, self.chunking = store, report, limits, chunking
        self.on_file = on_file
        self.status: dict[str, Status] = {}
        self.notes: dict[str, str] = {}  # e.g. the damaged pages a written PDF left out
        self.known: dict[str, str] = {}  # source: version, of what is stored
        self.known_hashes: dict[str, str] = {}  # version: source
        self.seen: set[str] = set()
        self.unwalkable: list[str] = []

    def start(self, writer: DocumentWriter) -> None:
        self.writer = writer
        self.known = {d.source: d.doc_hash for d in self.store.documents(self.report.collection)}
        self.known_hashes = {h: s for s, h in self.known.items()}
        self.attachments = Attachments(
            writer, self.known, self.limits, self.chunking, self.notes, self._say
        )

    def _say(self, source: str, status: Status, reason: str) -> None:
        self.emit(FileResult(source, status, reason=reason))

    def emit(self, result: FileResult) -> None:
        self.report.results.append(result)
        if self.on_file:
            self.on_file(result)

    def committed(self, source: str, chunks: int, replaced: bool, reused: int) -> None:
        state = self.status.pop(source, "updated" if replaced else "added")
        said = [self.notes.pop(source, ""), _reuse_note(chunks, reused)]
        self.emit(FileResult(source, state, chunks, reason="; ".join(s for s in said if s)))

    def add(self, item: Path | FileResult) -> None:
        """Skip the file if stored as it is, re-use a moved file's vectors, else write it
        (re-using the vectors of its chunks whose text is stored already)."""
        if isinstance(item, FileResult):
            self.unwalkable.append(item.path)
            self.emit(item)
            return
        source = str(item)
        self.seen.add(source)
        try:
            check_file(item, self.limits.max_bytes)
            digest = file_hash(item)
        except LoadError as exc:
            self.emit(FileResult(source, "failed", reason=str(exc)))
            return
        version = document_version(digest, *self.chunking)
        if self.known.get(source) == version:
            self.emit(FileResult(source, "unchanged"))
            return
        twin = self.known_hashes.get(version)
        if twin and twin != source and os.path.exists(twin):
            self.emit(FileResult(source, "unchanged", reason=f"same content as {twin}"))
            return
        self.status[source] = "updated" if source in self.known else "added"
        moved = [twin, *self.attachments.under(twin)] if twin and twin != source else []
        if moved:
            self.notes[source] = f"renamed from {twin}"
        # A renamed file's chunks are copied with their vectors, nothing read; a renamed
        # mail (its attachments are documents too) is read again, its vectors re-used.
        if not (len(moved) == 1 and _move(self.store, self.writer, moved[0], source, version)):
            error = _write_file(
                item,
                digest,
                version,
                self.writer,
                self.limits,
                self.chunking,
                self.notes,
                self.attachments,
                like=moved,
            )
            if error:
                self.status.pop(source, None)
                self.notes.pop(source, None)
                self.emit(FileResult(source, "failed", reason=error))
                return
        self.known[source] = version
        self.known_hashes[version] = source

    def gone(self, roots: Sequence[Path], *, exact: bool, prune: bool) -> list[str]:
        """The stored documents to remove: with `exact` all not seen, with `prune` those
        under a walked root whose files are gone; never a seen mail's attachments."""
        return [s for s in self._unseen(roots, exact, prune) if not attached_to(s, self.seen)]

    def _unseen(self, roots: Sequence[Path], exact: bool, prune: bool) -> list[str]:
        if exact and not self.unwalkable:  # a typo'd or unreadable path must not empty the store
            return sorted(s for s in self.known if s not in self.seen)
        if prune:
            existing = [str(r) for r in roots if r.exists()]
            return sorted(
                s
                for s in self.known
                if s not in self.seen and _under(s, existing) and not _under(s, self.unwalkable)
            )
        return []


def _move(store: Store, writer: DocumentWriter, old: str, new: str, version: str) -> bool:
    """A file whose content is indexed under a path that no longer exists was renamed or
    moved: write the old document's chunks under the new path with their vectors (nothing
    is parsed or embedded). The old document goes with `--prune` or the watcher."""
    rows = store.read_document(old, writer.collection, vectors=True)  # a page at a time
    first = next(rows, None)
    if first is None:
        return False
    writer.begin(new, version, str(first[0].metadata.get("title", "")))
    for chunk, vector in itertools.chain([first], rows):
        index = int(chunk.metadata["chunk_index"])
        meta = {**chunk.metadata, "source": new}
        known = None if vector is None else vector.tolist()
        writer.add(Chunk(chunk_id(new, version, index), chunk.text, meta), embedding=known)
    writer.end(new)
    return True


def _write_file(
    path: Path,
    digest: str,
    version: str,
    writer: DocumentWriter,
    limits: Limits,
    chunking: tuple[int, int],
    notes: dict[str, str],
    attachments: Attachments,
    like: Sequence[str] = (),
) -> str | None:
    """Stream one file (then its attachments, each a document) into the writer; returns a
    failure reason, or None once written (then `notes[source]` says what of it was left
    out, if anything)."""
    source = str(path)
    chunk_size, chunk_overlap = chunking
    begun = False
    try:
        doc = open_document(path, content_hash=digest, limits=limits)
        doc.sections = _guarded(doc.sections)
        writer.begin(source, version, doc.title, like)  # the version iter_chunks derives
        begun = True
        n = 0
        for chunk in iter_chunks(
            doc, chunk_size=chunk_size, chunk_overlap=chunk_overlap, collection=writer.collection
        ):
            writer.add(chunk)
            n += 1
    except LoadError as exc:
        if begun:
            writer.abort(source)
        return str(exc)
    except Exception as exc:  # a parser bug in open_document: this file's failure only
        if begun:
            raise
        return f"cannot parse ({type(exc).__name__}: {exc})"[:200]
    if n == 0:
        writer.abort(source)
        return "no text"
    said = list(doc.warnings)
    if doc.skipped:
        said.append(f"skipped unreadable {', '.join(doc.skipped)}")
    if said:
        notes[source] = "; ".join([notes[source], *said] if source in notes else said)[:300]
    attachments.write(doc, source, version)
    writer.end(source)
    return None


def _reuse_note(chunks: int, reused: int) -> str:
    """What a written document's result line says of the vectors it kept (an edited or
    renamed file's unchanged chunks are not embedded again)."""
    if not reused:
        return ""
    if reused == chunks:
        return "nothing re-embedded"
    return f"{chunks - reused} of {chunks} chunks embedded again, the rest unchanged"
