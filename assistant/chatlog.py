"""The chat log: every finished answer as one JSON line in the data directory.

A bad answer seen in the browser or the terminal is only fixable once it can be replayed:
`assistant eval add` turns a logged entry into a regression case. The log stays on this
machine, like everything else, and `chat_log = false` (ASSISTANT_CHAT_LOG=false) turns it
off. One file per local day (`chatlog/2025-01-31.jsonl`), so old days can be deleted by age.
Each entry names who asked; the files are readable by their owner only (0600, in a 0700
folder), whatever the umask: they hold every user's questions.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.answering import Answer
from assistant.errors import AssistantError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogEntry:
    id: str
    time: str  # ISO 8601, local time with offset
    question: str
    collection: str
    answer: str
    refused: bool
    model: str
    sources: list[dict[str, Any]] = field(default_factory=list)  # number, source, anchor, ...
    timings: dict[str, float] = field(default_factory=dict)
    user: str = ""  # who asked; "" on the command line (and in logs from before)

    @classmethod
    def from_answer(cls, answer: Answer, collection: str, user: str = "") -> LogEntry:
        return cls(
            user=user,
            id=uuid.uuid4().hex[:10],
            time=datetime.now().astimezone().isoformat(timespec="seconds"),
            question=answer.question,
            collection=collection,
            answer=answer.text,
            refused=answer.refused,
            model=answer.model,
            sources=[
                {
                    "number": s.number,
                    "source": s.source,
                    "anchor": s.anchor,
                    "similarity": s.similarity,
                    "cited": s.cited,
                }
                for s in answer.sources
            ],
            timings={k: round(v, 3) for k, v in answer.timings.items()},
        )


class ChatLog:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def record(self, answer: Answer, collection: str, user: str = "") -> None:
        """Append one answer; a log that cannot be written never breaks answering."""
        entry = LogEntry.from_answer(answer, collection, user)
        line = json.dumps(asdict(entry), ensure_ascii=False) + "\n"
        path = self.directory / f"{entry.time[:10]}.jsonl"
        try:
            with self._lock:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                if os.fstat(fd).st_mode & 0o077:  # a file from before, made with the umask
                    os.fchmod(fd, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as f:
                    f.write(line)
        except OSError as exc:
            log.warning("chat log %s not written: %s", path, exc)

    def newest_first(self) -> Iterator[LogEntry]:
        """Entries from the most recent back; unreadable lines (a crash mid-write) skipped."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.jsonl"), reverse=True):
            for line in reversed(path.read_text(encoding="utf-8").splitlines()):
                try:
                    yield LogEntry(**json.loads(line))
                except (ValueError, TypeError):
                    continue

    def find(self, entry_id: str | None = None, last: int = 1) -> LogEntry:
        """The entry with this id (or id prefix), else the `last`-th most recent one."""
        for n, entry in enumerate(self.newest_first(), start=1):
            if entry.id.startswith(entry_id) if entry_id else n == last:
                return entry
        if entry_id:
            raise AssistantError(f"{self.directory}: no logged answer with id '{entry_id}'")
        raise AssistantError(
            f"{self.directory}: fewer than {last} logged answers (is chat_log switched off?)"
        )
