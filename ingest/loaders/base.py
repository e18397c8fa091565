"""What every format's reader shares: the section and document types, the one error a reader
may raise, the limits it must respect, and the checks made before a byte is parsed."""

from __future__ import annotations

import errno
import hashlib
import shutil
import stat
import threading
import warnings
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from assistant.scratch import scratch_dir
from ingest.cleaning import Marker

if TYPE_CHECKING:
    from assistant.settings import Settings

MAX_FILE_BYTES = 200 * 1024 * 1024
TITLE_MAX_CHARS = 100
READ_BLOCK = 1 << 20

Meta = dict[str, str | int | float | bool]  # what Chroma accepts as metadata values


class LoadError(Exception):
    """The file cannot be ingested; the message is the reason, without the path."""


@dataclass
class Section:
    text: str
    anchor: str = ""  # e.g. "page 3"; empty for (a part of) a text file
    timestamps: list[Marker] = field(default_factory=list)
    first_line: int = 1  # the file's line number of the text's first line
    metadata: Meta = field(default_factory=dict)  # copied into each of its chunks (OCR score)


@dataclass
class Attachment:
    """A file that came inside another (a mail's attachment), spilled to a temporary file
    named like it: the indexer stores it as a document of its own, linked to its parent.
    The temporary folder goes with `close`, or when the object is collected (a document
    whose reading failed half-way is simply dropped); a run killed before either, by the
    next run (`assistant.scratch`)."""

    key: str  # unique within the parent: "report.pdf", "message 3/report.pdf"
    where: str  # what it is attached to: 'attachment of "Budget" (q3.eml)'
    metadata: Meta  # the parent's (the mail's headers)
    folder: str = field(default_factory=lambda: str(scratch_dir("attached")))

    def __post_init__(self) -> None:
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)

    @property
    def path(self) -> Path:
        return Path(self.folder) / Path(self.key).name

    def close(self) -> None:
        self._cleanup()


@dataclass
class LoadedDocument:
    path: Path
    title: str
    content_hash: str  # sha256 of the file's bytes: the same bytes are never indexed twice
    sections: Iterable[Section]  # a list from `load`, a one-shot iterator from `open_document`
    # Parts left out as sections are read, each "page 7 (reason)": the rest is still indexed.
    skipped: list[str] = field(default_factory=list)
    metadata: Meta = field(default_factory=dict)  # e.g. the encoding; copied into each chunk
    warnings: list[str] = field(default_factory=list)  # said in the file's result line
    # False: the format gave no title and `title` is the file's stem, so chunking derives
    # one from the first section's text (ingest/titles.py).
    titled: bool = True
    attachments: list[Attachment] = field(default_factory=list)  # found as sections are read


@dataclass(frozen=True)
class Limits:
    """What a reader may cost; from settings (`from_settings`), defaults for tests and tools."""

    max_bytes: int = MAX_FILE_BYTES
    max_unzipped_bytes: int = 200 * 2**20  # zip-based formats: total inflated size
    max_zip_ratio: float = 100.0  # ... and inflated / compressed size
    max_html_depth: int = 512  # nesting of HTML elements
    chunk_chars: int = 700  # table rows are grouped into sections of about one chunk
    ocr_languages: str = "eng"
    ocr_min_confidence: float = 60.0  # an OCR'd page below this is indexed but flagged

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(
            max_bytes=int(s.max_file_mb * 2**20),
            chunk_chars=s.chunk_size,
            max_unzipped_bytes=int(s.max_unzipped_mb * 2**20),
            max_zip_ratio=s.max_zip_ratio,
            ocr_languages=s.ocr_languages,
            ocr_min_confidence=s.ocr_min_confidence,
        )


@dataclass
class ReadContext:
    """What a reader gets besides the path, and fills in as it reads."""

    limits: Limits = field(default_factory=Limits)
    skipped: list[str] = field(default_factory=list)
    metadata: Meta = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


class Reader(Protocol):
    def __call__(self, path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]: ...


def guarded(sections: Iterable[Section]) -> Iterator[Section]:
    """A parser's unexpected exception is that file's failure (a `LoadError`), not the run's."""
    it = iter(sections)
    while True:
        try:
            section = next(it)
        except StopIteration:
            return
        except LoadError:
            raise
        except RecursionError as exc:
            raise LoadError("cannot parse (nested too deeply)") from exc
        except Exception as exc:
            raise LoadError(f"cannot parse ({type(exc).__name__}: {exc})"[:200]) from exc
        yield section


@contextmanager
def said_as_warnings(into: list[str]) -> Iterator[None]:
    """A parsing library's warnings while it reads (openpyxl's "File contains an invalid
    specification for 0. This will be removed") go to `into`, the file's warnings said in
    its result line, each once, instead of to stderr with no file named.

    Only on the main thread (`assistant ingest` and its `--watch`): Python's warning
    filters are one per process, and saving and restoring them from several threads at once
    (the server indexing uploads side by side) could leave them changed for good. Elsewhere
    warnings go where they always did (the server's log); an upload's are said all the
    same, by the child process that parses it first (`assistant.cli.sandbox`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for found in caught:
        text = " ".join(str(found.message).split())[:200]
        if text not in into:
            into.append(text)


def warned(sections: Iterable[Section], into: list[str]) -> Iterator[Section]:
    """The sections, a library's warnings while reading each one kept in `into`."""
    it = iter(sections)
    while True:
        with said_as_warnings(into):
            section = next(it, None)
        if section is None:
            return
        yield section


def os_reason(exc: OSError) -> str:
    """A one-line reason for an OSError met while reading a file or walking a folder."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if isinstance(exc, FileNotFoundError):
        return "no such file (a broken symlink?)"
    return f"cannot read ({exc.strerror or exc})"


def check_file(path: Path, supported: Iterable[str], max_bytes: int) -> int:
    """Refuse what must not be opened (unsupported, special files, too large, empty) before
    reading a byte: a FIFO would block the run forever. Returns the size."""
    suffix = path.suffix.lower()
    if suffix not in supported:
        raise LoadError(f"unsupported file type '{suffix or path.name}'")
    try:
        st = path.stat()
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    if stat.S_ISDIR(st.st_mode):
        raise LoadError("a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise LoadError("not a regular file (a device, socket or pipe)")
    if st.st_size > max_bytes:
        raise LoadError(f"too large ({st.st_size / 2**20:.0f} MiB > {max_bytes / 2**20:.0f} MiB)")
    if st.st_size == 0:
        raise LoadError("empty file")
    return st.st_size


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(READ_BLOCK):
                digest.update(block)
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    return digest.hexdigest()


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc


def head(path: Path, n: int = 1024) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc


def short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def title_from_text(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= TITLE_MAX_CHARS else None
    return None


def human_bytes(n: float) -> str:
    """5.1 GB, 200 MB: binary units, as `max_file_mb` counts them."""
    units = ["bytes", "KB", "MB", "GB", "TB"]
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024
        i += 1
    return f"{n:.0f} {units[i]}" if i == 0 or n >= 100 else f"{n:.2g} {units[i]}"
