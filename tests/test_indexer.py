"""Indexing a tree: new files added, changed ones replaced, repeats skipped, bad files reported."""

import shutil

from conftest import SEEDS

from ingest.indexer import ingest_paths


def ingest(parts, *paths):
    s = parts.settings
    return ingest_paths(
        list(paths), parts.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap
    )


def test_second_run_over_the_same_files_adds_nothing(fresh):
    first = ingest(fresh, SEEDS)
    count = fresh.store.count()
    second = ingest(fresh, SEEDS)
    assert first.counts["added"] == 5 and count == first.chunks
    assert second.counts == {"added": 0, "updated": 0, "unchanged": 5, "failed": 0}
    assert fresh.store.count() == count


def test_a_changed_file_replaces_its_old_version(fresh, tmp_path):
    doc = tmp_path / "policy.md"
    doc.write_text("# Leave\n\nStaff get 25 days of leave a year.\n")
    ingest(fresh, doc)
    doc.write_text("# Leave\n\nStaff get 30 days of leave a year.\n")
    report = ingest(fresh, doc)
    assert report.counts["updated"] == 1
    texts = [c.text for c in fresh.store.chunks()]
    assert any("30 days" in t for t in texts) and not any("25 days" in t for t in texts)


def test_the_same_content_under_another_name_is_not_indexed_twice(fresh, tmp_path):
    shutil.copy(SEEDS / "001_5fec047b8f95376e.txt", tmp_path / "copy.txt")
    ingest(fresh, SEEDS)
    report = ingest(fresh, tmp_path / "copy.txt")
    assert report.results[0].status == "unchanged"
    assert "same content as" in report.results[0].reason


def test_bad_files_are_reported_and_good_ones_kept(fresh, tmp_path):
    ingest(fresh, SEEDS)
    before = {(d.source, d.doc_hash, d.chunks) for d in fresh.store.documents()}
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "junk.pdf").write_bytes(b"\x00not a pdf at all" * 50)
    (docs / "empty.txt").write_bytes(b"")
    (docs / "image.png").write_bytes(b"\x89PNG")
    (docs / "good.txt").write_text("The cafeteria opens at 8am.")
    report = ingest(fresh, docs, docs / "missing.txt")
    reasons = {r.path.rsplit("/", 1)[-1]: r.reason for r in report.failed}
    assert set(reasons) == {"junk.pdf", "empty.txt", "image.png", "missing.txt"}
    assert all(reasons.values())
    assert report.counts["added"] == 1
    after = {(d.source, d.doc_hash, d.chunks) for d in fresh.store.documents()}
    assert before < after  # every seed document intact, the good file added
