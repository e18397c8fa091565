"""Uploaded files are parsed in a child process first, with a wall-clock and a memory
limit: a hostile file (a decompression bomb, a parser's worst case) can then neither
freeze nor kill the server. A file that passes is ingested as usual; one that does not is
reported with one line saying which limit it broke, and nothing of it is stored.

Only uploads go through here (anyone with an owner grant can send them); `assistant
ingest` reads an admin's own folders in its own process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.factory import Components

# Run with `python -c`: the limit is set before anything is imported, and nothing but the
# loaders is imported (not the server's packages). A reason the loaders give (LoadError)
# is left to the real ingest, which reports it the usual way.
CHILD = """
import resource, sys, traceback
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
        for _ in open_document(Path(sys.argv[1]), max_bytes=int(sys.argv[3])).sections:
            pass
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


def parse_problem(path: Path, *, seconds: float, memory_mb: int, max_bytes: int) -> str | None:
    """Why `path` cannot be parsed within the limits, or None when it can."""
    command = [sys.executable, "-c", CHILD, str(path), str(memory_mb), str(max_bytes)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        return f"parsing took longer than {seconds:g} s (upload_parse_seconds): not indexed"
    if done.returncode == 0:
        return None
    if done.returncode == OUT_OF_MEMORY or "MemoryError" in done.stderr:
        return f"parsing needed more than {memory_mb} MB (upload_parse_memory_mb): not indexed"
    last = (done.stderr.strip().splitlines() or ["killed"])[-1]
    return f"the parser failed on this file ({last[:200]}): not indexed"


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
    outcome, passed = Outcome(), []
    for path in paths:
        problem = parse_problem(
            path,
            seconds=s.upload_parse_seconds,
            memory_mb=s.upload_parse_memory_mb,
            max_bytes=int(s.max_file_mb * 2**20),
        )
        if problem is None:
            passed.append(path)
            continue
        refused = Refused(str(path), problem)
        on_file(refused)
        outcome.results.append(refused)
    if passed:
        report = index(parts, passed, collection, on_file=on_file, on_chunks=on_chunks)
        outcome.results.extend(report.results)
    return outcome
