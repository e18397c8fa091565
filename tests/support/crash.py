"""Killing `assistant ingest` mid-replace and checking the store after: the helpers of
tests/ingestion/test_ingest_crash.py, also run against a Chroma server."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from assistant.factory import Components
from assistant.store import Store
from assistant.store.words import tokenize
from support.cli import clean_env
from support.paths import ASSISTANT, make_settings

PARAGRAPH = "The {topic} policy, clause {n}, says staff {verb} the {thing} every {period}. "


def policy_text(topic: str, version: int, paragraphs: int = 6) -> str:
    words = ["review", "approve", "archive", "sign"]
    return f"# {topic.title()} policy v{version}\n\n" + "\n\n".join(
        PARAGRAPH.format(
            topic=topic, n=n, verb=words[(n + version) % 4], thing="form", period="quarter"
        )
        * 3
        for n in range(paragraphs)
    )


def ingest(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = clean_env(
        data,
        ASSISTANT_AUTO_SEED="false",
        ASSISTANT_EMBED_BATCH="4",  # many batches, so kills land between them
        **env,
    )
    return subprocess.run(
        [ASSISTANT, "ingest", *args], capture_output=True, text=True, env=environ, timeout=300
    )


def check_consistent(data: Path, files: Path | None = None) -> None:
    parts = Components(make_settings(data))
    store = parts.store
    docs = {d.source: d for d in store.documents()}
    visible: dict[str, list] = {}
    for c in store.chunks():
        visible.setdefault(c.metadata["source"], []).append(c)
    assert set(visible) == set(docs)
    check_keywords(store, visible, complete=files is not None)
    for source, doc in docs.items():
        chunks = visible[source]
        assert {c.metadata["doc_hash"] for c in chunks} == {doc.doc_hash}
        assert sorted(c.metadata["chunk_index"] for c in chunks) == list(range(doc.chunks))
        if files is not None:  # after a completed run: exactly the files on disk
            digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
            assert {c.metadata["content_hash"] for c in chunks} == {digest}
    if files is not None:
        assert set(docs) == {str(p) for p in files.iterdir()}
        assert store._collection(None).count() == store.count()  # no orphans left


def check_keywords(store: Store, visible: dict[str, list], complete: bool) -> None:
    """The keyword index holds every visible chunk, finds only visible ones, and (after a
    completed run) nothing else."""
    ids = {c.id for chunks in visible.values() for c in chunks}
    indexed = set(store.keywords.chunk_ids(store.default_collection))
    assert ids <= indexed
    for topic in ("leave", "travel", "expenses", "security", "training", "remote", "approve"):
        assert set(store.keyword_search(tokenize(topic), 50)) <= ids
    if complete:
        assert indexed == ids
