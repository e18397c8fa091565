"""Kill `assistant ingest` (SIGKILL) at every step of a replace, then check the store.

After each kill: every document the manifest lists is visible exactly once, whole (all its
chunks, one version, old or new), and no chunk of another version is visible, in Chroma
and in the keyword index alike; the next run completes the sync and leaves no orphaned
chunk in Chroma nor row in the keyword index.
"""

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_settings

from assistant.factory import Components
from assistant.store import Store
from assistant.store.keywords import tokenize

ASSISTANT = str(Path(sys.executable).with_name("assistant"))
PARAGRAPH = "The {topic} policy, clause {n}, says staff {verb} the {thing} every {period}. "


def text(topic: str, version: int, paragraphs: int = 6) -> str:
    words = ["review", "approve", "archive", "sign"]
    return f"# {topic.title()} policy v{version}\n\n" + "\n\n".join(
        PARAGRAPH.format(
            topic=topic, n=n, verb=words[(n + version) % 4], thing="form", period="quarter"
        )
        * 3
        for n in range(paragraphs)
    )


def run(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environ.update(
        ASSISTANT_DATA_DIR=str(data),
        ASSISTANT_CONFIG=str(data / "absent.toml"),
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
    for source, doc in docs.items():
        chunks = visible[source]
        assert {c.metadata["doc_hash"] for c in chunks} == {doc.doc_hash}
        assert sorted(c.metadata["chunk_index"] for c in chunks) == list(range(doc.chunks))
        if files is not None:  # after a completed run: exactly the files on disk
            digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
            assert {c.metadata["content_hash"] for c in chunks} == {digest}
    check_keywords(store, visible, complete=files is not None)
    if files is not None:
        assert set(docs) == {str(p) for p in files.iterdir()}
        assert store._collection(None).count() == store.count()  # no orphans left


def check_keywords(store: Store, visible: dict[str, list], complete: bool) -> None:
    """The keyword index holds every visible chunk, finds only visible ones, and (after a
    completed run) nothing else. (Server mode has none: its BM25 is built from the visible
    chunks in memory.)"""
    if store.keywords is None:
        return
    ids = {c.id for chunks in visible.values() for c in chunks}
    indexed = set(store.keywords.chunk_ids(store.default_collection))
    assert ids <= indexed
    for topic in ("leave", "travel", "expenses", "security", "training", "remote", "approve"):
        assert set(store.keyword_search(tokenize(topic), 50)) <= ids
    if complete:
        assert indexed == ids


@pytest.mark.slow
@pytest.mark.parametrize(
    "crash",
    [
        "intent:2",
        "upsert:2",  # chunks in Chroma, not yet in the keyword index
        "batch:3",
        "flip:1",
        "flip:2",
        "delete-old:1",
        "remove-intent",
        "remove-flip",
    ],
)
def test_a_killed_ingest_leaves_whole_documents_and_the_next_run_completes_it(tmp_path, crash):
    data, files = tmp_path / "data", tmp_path / "files"
    files.mkdir()
    for topic in ("leave", "travel", "expenses", "security", "training"):
        (files / f"{topic}.md").write_text(text(topic, 1))
    first = run(data, str(files))
    assert first.returncode == 0, first.stderr
    for topic in ("leave", "travel", "expenses"):  # changed
        (files / f"{topic}.md").write_text(text(topic, 2, paragraphs=8))
    (files / "security.md").unlink()  # deleted
    (files / "remote.md").write_text(text("remote", 1))  # new

    killed = run(data, "--prune", str(files), ASSISTANT_TEST_CRASH_AFTER=crash)
    assert killed.returncode == -signal.SIGKILL, (crash, killed.stdout, killed.stderr)
    check_consistent(data)

    again = run(data, "--prune", "--json", str(files))
    assert again.returncode == 0, again.stderr
    check_consistent(data, files)
    rerun = run(data, "--prune", "--json", str(files))
    assert '"unchanged": 5' in rerun.stdout and '"removed": 0' in rerun.stdout


@pytest.mark.slow
def test_a_kill_from_outside_mid_run_is_repaired(tmp_path):
    data, files = tmp_path / "data", tmp_path / "files"
    files.mkdir()
    for i in range(12):
        (files / f"doc{i:02}.md").write_text(text(f"topic{i}", 1))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environ.update(
        ASSISTANT_DATA_DIR=str(data),
        ASSISTANT_CONFIG=str(data / "absent.toml"),
        ASSISTANT_EMBED_BATCH="4",
    )
    proc = subprocess.Popen(
        [ASSISTANT, "ingest", str(files)], stdout=subprocess.PIPE, text=True, env=environ
    )
    assert proc.stdout is not None
    for _ in range(3):  # three documents committed, the rest in flight
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    check_consistent(data)
    again = run(data, str(files))
    assert again.returncode == 0, again.stderr
    check_consistent(data, files)
