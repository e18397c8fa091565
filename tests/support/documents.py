"""A collection of many generated documents for the Documents page's tests and benchmark.

Only the manifest rows are written (one transaction, through the manifest's own `adopt`),
with an empty Chroma collection beside them: the listing reads the manifest alone, and
embedding 10,000 documents would take this machine most of an hour. So what these rows
exercise is the page (search, sort, paging, rendering), not retrieval.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assistant.store import Store
from assistant.store.manifest import DocumentRow

FORMATS = ("pdf", "docx", "md", "txt", "xlsx", "eml", "html")
TOPICS = ("leave", "travel", "payroll", "security", "onboarding", "budget", "safety")
START = datetime(2025, 1, 1, tzinfo=UTC)


def generated_row(i: int) -> DocumentRow:
    """Document `i`: `report-00042.pdf` in a team folder, its date and size derived from i
    (so every sort has an order a test can compute), every 10th uploaded by a user."""
    topic = TOPICS[i % len(TOPICS)]
    name = f"report-{i:05d}.{FORMATS[i % len(FORMATS)]}"
    when = START + timedelta(minutes=(i * 7919) % 100_000)  # dates not in name order
    return DocumentRow(
        source=f"/srv/dept/{topic}/{name}",
        doc_hash=f"{i:064x}",
        title=f"{topic.capitalize()} report number {i}",
        chunks=1 + i % 40,
        ingested_at=when.isoformat(timespec="seconds"),
        size=1000 + (i * 104_729) % 5_000_000,
        ingested_by="alice" if i % 10 == 0 else "cli:root",
    )


def fill_collection(store: Store, collection: str, n: int) -> list[DocumentRow]:
    """Make `collection` hold `n` generated documents (manifest rows only, see above)."""
    store._collection(collection, create=True)  # the Chroma side exists, empty
    rows = [generated_row(i) for i in range(n)]
    store._manifest.adopt(collection, rows)
    return rows
