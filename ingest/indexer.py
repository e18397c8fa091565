"""Make a collection match a set of files: add new ones, replace changed ones, skip the rest.

Files are keyed by absolute path and by the sha256 of their bytes, so indexing the same
tree twice embeds nothing the second time. A changed file's new chunks are written before
its old ones are deleted: a crash in between leaves the old version findable, never none.
A file that cannot be read is reported with its reason and skipped; nothing stored is lost.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from assistant.store import Store
from ingest.chunking import chunk_document
from ingest.loaders import LoadError, load

Status = Literal["added", "updated", "unchanged", "failed"]


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

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.results)
        return {s: counts.get(s, 0) for s in ("added", "updated", "unchanged", "failed")}

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
            "files": [asdict(r) for r in self.results],
        }


def iter_files(paths: Iterable[Path]) -> Iterator[Path | FileResult]:
    """Files under the given paths, sorted, hidden ones skipped; unreadable ones as failures.

    Directory symlinks are not followed, so a link loop cannot trap the walk.
    """
    for path in paths:
        if not path.exists():
            yield FileResult(str(path), "failed", reason="no such file or directory")
        elif path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False, onerror=None):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root, name).absolute()
        else:
            yield path.absolute()


def ingest_paths(
    paths: Iterable[Path],
    store: Store,
    *,
    chunk_size: int,
    chunk_overlap: int,
    collection: str | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> IngestReport:
    started = time.perf_counter()
    collection = collection or store.default_collection
    report = IngestReport(collection=collection)
    known = {d.source: d.doc_hash for d in store.documents(collection)}
    known_hashes = {h: s for s, h in known.items()}

    for item in iter_files(paths):
        if isinstance(item, FileResult):
            result = item
        else:
            result = _ingest_file(
                item, store, known, known_hashes, chunk_size, chunk_overlap, collection
            )
        report.results.append(result)
        if on_file:
            on_file(result)
    report.seconds = time.perf_counter() - started
    return report


def _ingest_file(
    path: Path,
    store: Store,
    known: dict[str, str],
    known_hashes: dict[str, str],
    chunk_size: int,
    chunk_overlap: int,
    collection: str,
) -> FileResult:
    source = str(path)
    try:
        doc = load(path)
    except LoadError as exc:
        return FileResult(source, "failed", reason=str(exc))
    if known.get(source) == doc.content_hash:
        return FileResult(source, "unchanged")
    if doc.content_hash in known_hashes and known_hashes[doc.content_hash] != source:
        return FileResult(
            source, "unchanged", reason=f"same content as {known_hashes[doc.content_hash]}"
        )
    chunks = chunk_document(
        doc, chunk_size=chunk_size, chunk_overlap=chunk_overlap, collection=collection
    )
    store.add(chunks, collection)
    status: Status = "added"
    if source in known:
        store.delete_document(source, collection, keep_hash=doc.content_hash)
        status = "updated"
    known[source] = doc.content_hash
    known_hashes[doc.content_hash] = source
    return FileResult(source, status, chunks=len(chunks))
