"""Uploaded files are parsed in a child process first, with a wall-clock and a memory
limit: a hostile file (a decompression bomb, a parser's worst case) can then neither
freeze nor kill the server. A file that passes is ingested as usual; one that does not is
reported with one line saying which limit it broke, and nothing of it is stored.

Only uploads go through here (anyone with an owner grant can send them); `assistant
ingest` reads an admin's own folders in its own process.

The child also reports what the parsing libraries warned of (openpyxl dropping a sheet it
cannot place): only a main thread can catch warnings (`ingest.loaders.base`), and the
server ingests in a worker thread, so the child's are added to the file's result line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.factory import Components

# Run with `python -c`: the limit is set before anything is imported, and nothing but the
# loaders is imported (not the server's packages). A reason the loaders give (LoadError)
# is left to the real ingest, which reports it the usual way.
CHILD = """
import json, resource, sys, traceback
limit = int(sys.argv[2]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def near_limit():  # under the limit, allocation failures surface as any exception
    try:
        with open("/proc/self/status") as status:
            peak = next(l for l in status if l.startswith("VmPeak:"))
        return int(peak.split()[1]) * 1024 >= limit * 0.9
    except BaseException:
        return True


try:
    from pathlib import Path
    from ingest.loaders import LoadError, open_document
    try:
        doc = open_document(Path(sys.argv[1]), max_bytes=int(sys.argv[3]))
        for _ in doc.sections:
            pass
        print(json.dumps(doc.warnings))
    except LoadError:
        pass
except MemoryError:
    sys.exit(4)
except BaseException:
    if near_limit():
        sys.exit(4)
    traceback.print_exc()
    sys.exit(1)
"""
OUT_OF_MEMORY = 4


@dataclass(frozen=True)
class Refused:
    """A file the child could not parse within the limits (an `uploads.FileOutcome`)."""

    path: str
    reason: str
    status: str = "failed"
    chunks: int = 0


@dataclass
class Outcome:
    results: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Parsed:
    problem: str | None  # why the file cannot be parsed within the limits; None: it can
    warnings: list[str] = field(default_factory=list)  # the parsing libraries', if any


def parse_in_child(path: Path, *, seconds: float, memory_mb: int, max_bytes: int) -> Parsed:
    """`path` parsed in a child process within the limits."""
    command = [sys.executable, "-c", CHILD, str(path), str(memory_mb), str(max_bytes)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        return Parsed(f"parsing took longer than {seconds:g} s (upload_parse_seconds): not indexed")
    if done.returncode == 0:
        return Parsed(None, _warnings(done.stdout))
    if done.returncode == OUT_OF_MEMORY or "MemoryError" in done.stderr:
        return Parsed(
            f"parsing needed more than {memory_mb} MB (upload_parse_memory_mb): not indexed"
        )
    last = (done.stderr.strip().splitlines() or ["killed"])[-1]
    return Parsed(f"the parser failed on this file ({last[:200]}): not indexed")


def _warnings(stdout: str) -> list[str]:
    """The child's last line: its JSON list of warnings (none for a file the loaders refuse)."""
    try:
        said = json.loads((stdout.strip().splitlines() or ["[]"])[-1])
    except ValueError:
        return []
    return [str(w) for w in said] if isinstance(said, list) else []


def _with_warnings(result: Any, warnings: list[str]) -> Any:
    """A stored file's result with the child's warnings first in its reason, as `assistant
    ingest` says them (those the reason holds already are not repeated)."""
    new = [w for w in warnings if w not in result.reason]
    if not new or result.status not in ("added", "updated"):
        return result
    return replace(result, reason="; ".join([*new, *filter(None, [result.reason])])[:300])


def ingest_uploads(
    parts: Components,
    index: Callable[..., Any],
    paths: Sequence[Path],
    collection: str,
    *,
    on_file: Callable[[Any], None],
    on_chunks: Callable[[int], None],
) -> Outcome:
    """`index` (the usual `index_files`) over the files that parse within the limits
    (read from the settings at each upload); the others are reported as failed."""
    s = parts.settings
    outcome, passed, warned = Outcome(), [], {}
    for path in paths:
        parsed = parse_in_child(
            path,
            seconds=s.upload_parse_seconds,
            memory_mb=s.upload_parse_memory_mb,
            max_bytes=int(s.max_file_mb * 2**20),
        )
        if parsed.problem is None:
            passed.append(path)
            warned[str(path)] = parsed.warnings
            continue
        refused = Refused(str(path), parsed.problem)
        on_file(refused)
        outcome.results.append(refused)
    if passed:

        def told(result: Any) -> Any:
            return _with_warnings(result, warned.get(result.path, []))

        report = index(
            parts, passed, collection, on_file=lambda r: on_file(told(r)), on_chunks=on_chunks
        )
        outcome.results.extend(told(r) for r in report.results)
    return outcome
