"""Indexing a tree: new files added, changed ones replaced, repeats skipped, bad files reported."""

import shutil
from pathlib import Path

from support.embedder import Recording
from support.paths import SEEDS
from support.pdfs import text_pdf

from assistant.store import Chunk
from ingest import indexer
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
    assert second.counts == {
        "added": 0,
        "updated": 0,
        "unchanged": 5,
        "removed": 0,
        "failed": 0,
    }
    assert fresh.store.count() == count


def test_the_report_says_how_much_of_its_time_the_embedder_took(fresh):
    """An admin (and bench/ingest_bench.py) can tell embedding from reading and writing."""
    first = ingest(fresh, SEEDS)
    assert 0 < first.embed_seconds < first.seconds
    assert first.to_dict()["embed_seconds"] == round(first.embed_seconds, 3)
    assert ingest(fresh, SEEDS).embed_seconds == 0  # nothing changed: nothing embedded


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


def test_an_unchanged_rerun_embeds_nothing_and_parses_nothing(fresh, tmp_path, monkeypatch):
    (tmp_path / "a.md").write_text("# A\n\nAlpha text.\n")
    ingest(fresh, tmp_path)
    calls = []
    monkeypatch.setattr(fresh.store.embedder, "embed", lambda texts: calls.append(texts))
    monkeypatch.setattr(indexer, "open_document", lambda *a, **k: calls.append("parse"))
    assert ingest(fresh, tmp_path).counts["unchanged"] == 1
    assert calls == []


def test_sync_adds_replaces_and_prunes_only_under_the_given_paths(fresh, tmp_path):
    team, other = tmp_path / "team", tmp_path / "other"
    team.mkdir(), other.mkdir()
    (team / "keep.md").write_text("# Keep\n\nKept text.\n")
    (team / "gone.md").write_text("# Gone\n\nSoon deleted.\n")
    (other / "elsewhere.md").write_text("# Elsewhere\n\nNot under team.\n")
    ingest(fresh, team, other)
    (team / "gone.md").unlink()
    s = fresh.settings
    report = ingest_paths(
        [team], fresh.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap, prune=True
    )
    assert report.counts["removed"] == 1 and report.counts["unchanged"] == 1
    assert sorted(Path(d.source).name for d in fresh.store.documents()) == [
        "elsewhere.md",
        "keep.md",
    ]


def test_a_changed_file_that_no_longer_reads_keeps_its_old_version(fresh, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(text_pdf(["Revenue grew 5 percent."]))
    ingest(fresh, pdf)
    before = fresh.store.documents()
    pdf.write_bytes(text_pdf(["Revenue grew 9 percent."])[:200])  # a truncated upload
    report = ingest(fresh, pdf)
    assert report.failed and "corrupt PDF" in report.failed[0].reason
    assert fresh.store.documents() == before
    assert any("5 percent" in c.text for c in fresh.store.chunks())


def test_every_format_is_chunked_with_full_metadata(fresh, tmp_path):
    import docx

    (tmp_path / "a.md").write_text("# Leave\n\n## Annual\n\nStaff get 25 days.\n")
    (tmp_path / "b.html").write_text("<title>Food</title><h1>Canteen</h1><p>Opens at 8.</p>")
    (tmp_path / "c.pdf").write_bytes(text_pdf(["Page one text.", "Page two text."]))
    (tmp_path / "d.txt").write_text("Plain words.\n")
    d = docx.Document()
    d.add_heading("Travel", 1)
    d.add_paragraph("Trains only.")
    d.save(tmp_path / "e.docx")
    report = ingest(fresh, tmp_path)
    assert report.counts["added"] == 5, report.to_dict()
    anchors = {
        (Path(c.metadata["source"]).name, c.metadata["anchor"]) for c in fresh.store.chunks()
    }
    assert ("a.md", "Leave") in anchors  # the heading in force where the chunk starts
    assert ("b.html", "Canteen") in anchors
    assert {("c.pdf", "page 1"), ("c.pdf", "page 2")} <= anchors
    assert ("e.docx", "Travel") in anchors
    for c in fresh.store.chunks():
        assert {"source", "title", "anchor", "doc_hash", "ingested_at", "collection"} <= set(
            c.metadata
        )


def test_walk_problems_are_reported_not_fatal(fresh, tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "loop").symlink_to(docs)  # a directory loop
    (docs / "self.txt").symlink_to(docs / "self.txt")  # a file link loop
    (docs / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    (docs / "ok.md").write_text("# Fine\n\nReadable.\n")
    reasons = {Path(r.path).name: r.reason for r in ingest(fresh, docs).failed}
    assert reasons == {
        "loop": "symlink to a directory, not followed (pass its target instead)",
        "self.txt": "symlink loop",
        "dangling.md": "no such file (a broken symlink?)",
    }
    assert [Path(d.source).name for d in fresh.store.documents()] == ["ok.md"]


def test_a_pdf_with_a_damaged_page_is_indexed_without_it_and_says_so(fresh, tmp_path):
    path = tmp_path / "handbook.pdf"
    pages = ["Expenses are filed in 30 days.", "Damaged.", "Laptops are replaced every 4 years."]
    path.write_bytes(text_pdf(pages, damaged={2}))
    report = ingest(fresh, path)
    [result] = report.results
    assert result.status == "added" and result.chunks == 2
    assert "skipped unreadable page 2" in result.reason
    anchors = sorted(c.metadata["anchor"] for c in fresh.store.chunks())
    assert anchors == ["page 1", "page 3"]


def test_a_new_chunk_size_re_chunks_every_file_on_the_next_run(fresh, tmp_path):
    doc = tmp_path / "rules.md"
    doc.write_text("# Rules\n\n" + "\n\n".join(f"Rule {n}: be kind to llamas." for n in range(60)))
    first = ingest_paths([doc], fresh.store, chunk_size=700, chunk_overlap=100)
    again = ingest_paths([doc], fresh.store, chunk_size=700, chunk_overlap=100)
    smaller = ingest_paths([doc], fresh.store, chunk_size=200, chunk_overlap=0)
    assert again.counts["unchanged"] == 1
    assert smaller.counts["updated"] == 1 and smaller.chunks > first.chunks
    chunks = list(fresh.store.chunks())
    assert len(chunks) == smaller.chunks and all(len(c.text) <= 200 for c in chunks)
    assert {c.metadata["content_hash"] for c in chunks} == {indexer.file_hash(doc)}


WARDS = ["North", "South", "East", "West", "Maternity", "Oncology", "Cardiology", "Surgery"]


def handbook(beds_in_east: int) -> str:
    """Eight paragraphs of ~400 characters: one or two to a chunk."""
    paragraphs = [
        f"The {ward} ward has {beds_in_east if ward == 'East' else 20 + i} beds. "
        + f"Visiting hours on the {ward} ward run from {8 + i} to {18 + i % 3} o'clock. " * 4
        for i, ward in enumerate(WARDS)
    ]
    return "# Wards\n\n" + "\n\n".join(paragraphs) + "\n"


def with_vectors(store, doc: Path) -> list[tuple[Chunk, list[float]]]:
    """The document's chunks with their vectors, in order."""
    rows = [(c, v.tolist()) for c, v in store.read_document(str(doc), vectors=True)]
    return sorted(rows, key=lambda row: row[0].metadata["chunk_index"])


def test_an_edited_file_embeds_only_the_chunks_it_changed(fresh, tmp_path, monkeypatch):
    doc = tmp_path / "wards.md"
    doc.write_text(handbook(beds_in_east=14))
    first = ingest(fresh, doc)
    before = {c.text: v for c, v in with_vectors(fresh.store, doc)}
    assert first.results[0].reason == "" and len(before) >= 4

    doc.write_text(handbook(beds_in_east=31))  # one number in one paragraph
    recording = Recording(fresh.store.embedder)
    monkeypatch.setattr(fresh.store, "embedder", recording)
    (result,) = ingest(fresh, doc).results
    after = with_vectors(fresh.store, doc)

    changed = [c.text for c, _ in after if c.text not in before]
    assert changed and all("East ward has 31 beds" in t for t in changed)
    assert recording.texts == changed  # the rest took their stored vectors
    assert (result.status, result.reason) == (
        "updated",
        f"{len(changed)} of {len(after)} chunks embedded again, the rest unchanged",
    )
    for chunk, vector in after:
        if chunk.text in before:
            assert vector == before[chunk.text]
    fresh_vectors = recording.real.embed([c.text for c, _ in after])
    for (_, stored), computed in zip(after, fresh_vectors, strict=True):
        assert sum(a * b for a, b in zip(stored, computed, strict=True)) > 0.999
    hit = fresh.retriever.retrieve("How many beds does the East ward have?").hits[0]
    assert "31 beds" in hit.chunk.text
    assert not any("14 beds" in c.text for c in fresh.store.chunks())
