"""Show an ingest run to the people watching it: a rich progress bar on a terminal (files,
chunks, rate, the file at hand), one plain line per file when the output is not a TTY (logs,
CI, pipes), nothing with `--json`. Failures are always printed, on stderr."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

from ingest.indexer import FileResult


class Progress:
    def __init__(self, total_files: int, *, mode: str) -> None:
        """mode: "bar" (a terminal), "lines" (plain lines), or "quiet" (JSON output)."""
        self.mode = mode
        self.total = total_files
        self.files = 0
        self.chunks = 0
        self.started = time.perf_counter()
        self._bar: Any = None
        self._task: Any = None

    @classmethod
    def auto(cls, total_files: int, *, quiet: bool) -> Progress:
        if quiet:
            return cls(total_files, mode="quiet")
        return cls(total_files, mode="bar" if sys.stderr.isatty() else "lines")

    def __enter__(self) -> Progress:
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]ingest"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files · {task.fields[chunks]} chunks · {task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[current]}", style="dim"),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                "ingest", total=self.total, chunks=0, rate="", current=""
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)

    def _rate(self) -> str:
        seconds = max(time.perf_counter() - self.started, 1e-6)
        return f"{self.files / seconds:.1f} files/s, {self.chunks / seconds:.0f} chunks/s"

    def on_chunks(self, n: int) -> None:
        self.chunks += n
        if self._bar is not None:
            self._bar.update(self._task, chunks=self.chunks, rate=self._rate())

    def on_file(self, result: FileResult) -> None:
        if result.status != "removed":
            self.files += 1
        if self._bar is not None:
            name = result.path.rsplit("/", 1)[-1]
            self._bar.update(self._task, completed=self.files, rate=self._rate(), current=name[:40])
            if result.status == "failed":
                self._bar.console.print(f"[red]failed[/red]  {result.path}: {result.reason}")
            elif result.status in ("added", "updated") and result.reason:
                self._bar.console.print(f"[yellow]partly[/yellow]  {result.path}: {result.reason}")
            return
        if self.mode == "lines":
            detail = result.reason or (f"{result.chunks} chunks" if result.chunks else "")
            line = f"{result.status:9} {result.path}" + (f": {detail}" if detail else "")
            print(line, flush=True)
