"""Uploads from the web page: screen each file, keep a copy, ingest, and report per file.

No Gradio here. The UI must not import `ingest/` (the core's layering rule), so the
ingesting itself is injected: `IngestFiles` is whatever the composition root (the CLI's
`serve`) passes, in practice `ingest.indexer.ingest_paths` with the settings applied.

Each accepted upload is copied to `upload_dir/<collection>/<name>`, and that path is the
document's source: uploading the same name again replaces the copy, which the indexer
treats as an update of that document. The copies on disk always match what is stored: a
replacement that fails to ingest puts the previous copy back (the store keeps the old
version too), and a new file that fails is deleted. Gradio's own temporary copies are
deleted once handled, so confidential uploads do not linger in the temp folder.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import os
import secrets
import shutil
import stat
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from assistant.errors import AssistantError, one_line
from assistant.settings import Settings
from assistant.store import Store

log = logging.getLogger(__name__)

MAX_COLLECTION_CHARS = 63
MAX_NAME_BYTES = 255


class FileOutcome(Protocol):
    """One file's result as the indexer reports it (`ingest.indexer.FileResult`)."""

    @property
    def path(self) -> str: ...
    @property
    def status(self) -> str: ...  # added, updated, unchanged, removed, failed
    @property
    def chunks(self) -> int: ...
    @property
    def reason(self) -> str: ...


class IngestOutcome(Protocol):
    """A finished run (`ingest.indexer.IngestReport`): every file's result."""

    @property
    def results(self) -> Sequence[FileOutcome]: ...


class IngestFiles(Protocol):
    """Ingest these files into a collection, reporting each file's result as it is known
    and the chunks of each written batch (progress for a large file)."""

    def __call__(
        self,
        paths: list[Path],
        collection: str,
        *,
        on_file: Callable[[FileOutcome], None],
        on_chunks: Callable[[int], None],
    ) -> IngestOutcome: ...


@dataclass(frozen=True)
class Uploads:
    """What the upload box needs; without it the page lists and deletes documents only."""

    ingest: IngestFiles
    folder: Path  # settings.upload_dir
    max_bytes: int
    types: tuple[str, ...]  # lower-case suffixes with the dot
    # Told of each finished upload and deletion (action, collection, details), e.g. for
    # the audit trail; runs where the asker's context is (see run's thread).
    on_event: Callable[..., None] | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, ingest: IngestFiles) -> Uploads:
        types = ("." + t.lower().lstrip(".") for t in settings.upload_types)
        return cls(
            ingest=ingest,
            folder=settings.upload_dir,
            max_bytes=int(settings.upload_max_mb * 2**20),
            types=tuple(dict.fromkeys(types)),
        )

    @property
    def limits(self) -> str:
        """The limits in words, for the page."""
        return f"{', '.join(self.types)}; up to {megabytes(self.max_bytes)} each"


@dataclass
class Item:
    """One uploaded file on its way: screened, copied, ingested, settled."""

    name: str
    upload: Path  # Gradio's temporary copy
    status: str = "queued"  # queued, then the indexer's status, or failed
    chunks: int = 0
    reason: str = ""
    dest: Path | None = None  # our copy, once accepted
    backup: Path | None = field(default=None, repr=False)  # the copy it replaced

    @property
    def pending(self) -> bool:
        return self.status == "queued"


def megabytes(n: int) -> str:
    mb = n / 2**20
    return f"{mb:.1f} MB" if mb >= 0.1 else f"{n / 1024:.1f} KB"


def collection_problem(name: str) -> str | None:
    """Why `name` cannot be a new collection (Chroma's rules, kept short enough to be a
    folder name), or None."""
    rule = (
        f"a collection name has 3 to {MAX_COLLECTION_CHARS} characters: letters, digits,"
        " '.', '_' or '-', starting and ending with a letter or digit"
    )
    ok = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    if not 3 <= len(name) <= MAX_COLLECTION_CHARS or not set(name) <= ok:
        return rule
    if not (name[0].isalnum() and name[-1].isalnum()):
        return rule
    if ".." in name:
        return "a collection name cannot contain '..'"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return None
    return "a collection name cannot be an IP address"


def name_problem(name: str) -> str | None:
    """Why an uploaded file's name cannot be stored as is (we never rename silently)."""
    if not name or name in (".", ".."):
        return "no file name"
    if "/" in name or "\\" in name or ".." in name:
        return "the file name contains a path ('/', '\\' or '..')"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return "the file name contains control characters"
    if name.startswith("."):
        return "hidden file name (starts with '.')"
    if name != name.strip():
        return "the file name starts or ends with a space"
    if len(name.encode()) > MAX_NAME_BYTES:
        return "the file name is too long"
    return None


def screen(paths: Sequence[str | Path], uploads: Uploads) -> list[Item]:
    """Check every upload before reading a byte of it: name, type, size (from stat)."""
    items: list[Item] = []
    seen: set[str] = set()
    for p in paths:
        upload = Path(p)
        item = Item(upload.name, upload)
        items.append(item)
        suffix = upload.suffix.lower()
        if problem := name_problem(item.name):
            item.status, item.reason = "failed", problem
        elif suffix not in uploads.types:
            item.status = "failed"
            item.reason = f"'{suffix or item.name}' files are not accepted"
        elif item.name in seen:
            item.status, item.reason = "failed", "another file in this upload has the same name"
        else:
            try:
                st = upload.stat()
            except OSError:
                item.status, item.reason = "failed", "the upload is gone; upload it again"
                continue
            if not stat.S_ISREG(st.st_mode):
                item.status, item.reason = "failed", "not a regular file"
            elif st.st_size > uploads.max_bytes:
                item.status = "failed"
                item.reason = (
                    f"too large ({megabytes(st.st_size)}; the limit is"
                    f" {megabytes(uploads.max_bytes)})"
                )
        seen.add(item.name)
    return items


def stage(items: Sequence[Item], folder: Path) -> None:
    """Copy the accepted uploads into `folder`; an existing copy of the same name is set
    aside (not lost) until the new version is known to be stored."""
    accepted = [i for i in items if i.pending]
    if not accepted:
        return
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for item in accepted:
        dest = folder / item.name
        # Not named after the file: a 255-byte name plus a suffix would be too long.
        partial = folder / f".upload-{secrets.token_hex(8)}.part"
        try:
            shutil.copyfile(item.upload, partial)
            if dest.exists():
                item.backup = folder / f".upload-{secrets.token_hex(8)}.previous"
                os.replace(dest, item.backup)
            os.replace(partial, dest)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            if item.backup is not None:
                os.replace(item.backup, dest)
                item.backup = None
            item.status = "failed"
            item.reason = f"cannot save the upload ({exc.strerror or exc})"
            continue
        item.dest = dest


def settle(items: Sequence[Item], *, error: str | None = None, temp: Path | None = None) -> None:
    """Keep each copy only if it is what the store now holds: otherwise put the previous
    copy back, or delete a new one. Then delete the temporary uploads (those under `temp`,
    Gradio's upload folder, when given: nothing else is ever deleted)."""
    for item in items:
        if item.dest is not None:
            if item.pending:  # the run ended before this file's result (an error)
                item.status, item.reason = "failed", f"not indexed: {error or 'interrupted'}"
            stored = item.status in ("added", "updated") or (
                item.status == "unchanged" and not item.reason
            )
            try:
                if stored:
                    if item.backup is not None:
                        item.backup.unlink(missing_ok=True)
                elif item.backup is not None:
                    os.replace(item.backup, item.dest)
                else:
                    item.dest.unlink(missing_ok=True)
            except OSError:
                log.exception("cleaning up after uploading %s", item.dest)
            item.backup = None
        if temp is None or item.upload.resolve().is_relative_to(temp.resolve()):
            item.upload.unlink(missing_ok=True)


@dataclass
class UploadStatus:
    """What the page shows while a run goes on."""

    items: list[Item]
    collection: str
    chunks: int = 0  # embedded so far
    seconds: float = 0.0
    done: bool = False
    error: str | None = None

    @property
    def finished(self) -> int:
        return sum(1 for i in self.items if i.dest is not None and not i.pending)

    @property
    def accepted(self) -> int:
        return sum(1 for i in self.items if i.dest is not None)


def run(
    items: list[Item],
    collection: str,
    uploads: Uploads,
    *,
    temp: Path | None = None,
    tick: float = 0.5,
) -> Iterator[UploadStatus]:
    """Stage, ingest and settle (see `settle` for `temp`), yielding a snapshot at each
    file, batch, or `tick` seconds.

    The work runs in its own thread and finishes (copies settled, temp files deleted) even
    if nobody reads the progress any more, e.g. the page was closed mid-upload.
    """
    job = _UploadJob(items, collection, uploads, temp)
    # The worker runs in a copy of this context, so it knows who uploads (the audit trail).
    context = contextvars.copy_context()
    threading.Thread(
        target=context.run, args=(job.work,), name=f"upload-{collection}", daemon=True
    ).start()
    yield from job.snapshots(tick)


class _UploadJob:
    """One run of `run`: the worker thread updates the items and the progress under
    `changed`, and wakes the reader of `snapshots` at each step."""

    def __init__(
        self, items: list[Item], collection: str, uploads: Uploads, temp: Path | None
    ) -> None:
        self.items, self.collection, self.uploads, self.temp = items, collection, uploads, temp
        self.started = time.perf_counter()
        self.progress = UploadStatus(items, collection)
        self.changed = threading.Condition()
        self.by_path: dict[str, Item] = {}

    def on_file(self, result: FileOutcome) -> None:
        with self.changed:
            _apply(self.by_path, result)
            self.changed.notify_all()

    def on_chunks(self, n: int) -> None:
        with self.changed:
            self.progress.chunks += n
            self.changed.notify_all()

    def work(self) -> None:
        error = None
        folder = self.uploads.folder / self.collection
        folder_lock = _folder_lock(folder)
        folder_lock.acquire()  # staging, ingesting and settling of one folder: one run at once
        try:
            paths = self._stage(folder)
            if paths:
                self._ingest(paths)
        except AssistantError as exc:
            error = one_line(exc)
        except Exception as exc:  # a bug: the log gets the traceback, the page one line
            log.exception("ingesting uploads into %r failed", self.collection)
            error = f"internal error ({type(exc).__name__}); see the log"
        finally:
            with self.changed:
                settle(self.items, error=error, temp=self.temp)
                self.progress.error, self.progress.done = error, True
                self.changed.notify_all()
            folder_lock.release()
            _tell(self.uploads, "document.upload", self.collection, self.items)

    def _stage(self, folder: Path) -> list[Path]:
        """Copy the accepted uploads into the folder; returns the copies to ingest."""
        with self.changed:
            stage(self.items, folder)
            staged = [i for i in self.items if i.dest is not None]
            self.by_path.update({str(i.dest): i for i in staged})
            self.changed.notify_all()
            return [i.dest for i in staged if i.dest is not None and i.pending]

    def _ingest(self, paths: list[Path]) -> None:
        report = self.uploads.ingest(
            paths, self.collection, on_file=self.on_file, on_chunks=self.on_chunks
        )
        with self.changed:
            for result in report.results:  # the report is the record
                _apply(self.by_path, result)

    def snapshots(self, tick: float) -> Iterator[UploadStatus]:
        while True:
            with self.changed:
                if not self.progress.done:
                    self.changed.wait(timeout=tick)
                self.progress.seconds = time.perf_counter() - self.started
                snapshot = replace(self.progress, items=[replace(i) for i in self.items])
            yield snapshot
            if snapshot.done:
                return


_FOLDER_LOCKS: dict[str, threading.Lock] = {}
_FOLDER_LOCKS_GUARD = threading.Lock()


def _folder_lock(folder: Path) -> threading.Lock:
    """One lock per upload folder (= collection): two uploads of one name must not stage
    over each other while the first is being ingested, or the copy on disk and the
    stored version could differ. The second waits for the first instead."""
    with _FOLDER_LOCKS_GUARD:
        return _FOLDER_LOCKS.setdefault(os.path.realpath(folder), threading.Lock())


def _apply(by_path: dict[str, Item], result: FileOutcome) -> None:
    item = by_path.get(os.path.abspath(result.path)) or by_path.get(result.path)
    if item is not None:
        item.status, item.chunks, item.reason = result.status, result.chunks, result.reason


def delete_documents(
    store: Store, uploads: Uploads | None, sources: Sequence[str], collection: str
) -> int:
    """Remove documents from the store, then our uploaded copies of those it held (a path
    the store did not hold is never touched). Returns how many were removed."""
    held = store.held(sources, collection)
    present = [s for s in sources if s in held]
    removed = store.remove(present, collection) if present else 0
    if uploads is not None and removed:
        remove_copies(present, uploads.folder / collection)
    if uploads is not None and uploads.on_event is not None:
        outcome = "ok" if removed else "failed"
        uploads.on_event("document.delete", collection, outcome=outcome, sources=list(sources))
    return removed


def _tell(uploads: Uploads, action: str, collection: str, items: Sequence[Item]) -> None:
    if uploads.on_event is None:
        return
    files = [{"file": i.name, "status": i.status, "chunks": i.chunks} for i in items]
    ok = any(i.status not in ("failed", "queued") for i in items)
    try:
        uploads.on_event(action, collection, outcome="ok" if ok else "failed", files=files)
    except Exception:  # the upload is done; a failed record is logged, not raised
        log.exception("recording the upload into %r failed", collection)


def remove_copies(sources: Sequence[str], folder: Path) -> None:
    """Delete our copies of removed documents (only files inside the upload folder: a
    document ingested from elsewhere keeps its file; a mail's attachment has none: its
    source is a path under the mail's)."""
    root = os.path.realpath(folder)
    for source in sources:
        real = os.path.realpath(source)
        if real.startswith(root + os.sep) and os.path.isfile(real):
            Path(real).unlink(missing_ok=True)
