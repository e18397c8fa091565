"""Chunks carry the most precise anchor available and deterministic ids."""

from pathlib import Path

from support.paths import SEEDS

from ingest import loaders
from ingest.chunking import chunk_document
from ingest.loaders import load


def chunks_of(path: Path, size: int = 700):
    return chunk_document(load(path), chunk_size=size, chunk_overlap=100, collection="c")


def test_timestamped_document_cites_the_timestamps():
    chunks = chunks_of(SEEDS / "000_ff4f05a3c6834f76.txt")
    anchors = [c.metadata["anchor"] for c in chunks]
    assert all(any(ch.isdigit() for ch in a.split(" · ")[-1]) for a in anchors), anchors
    # The chunk about Groq's 14-hour deployment cites the timestamp that follows it.
    groq = next(c for c in chunks if "within 14 hours" in c.text)
    assert "00:" in str(groq.metadata["anchor"])
    assert "Key Developments" in str(groq.metadata["anchor"])


def test_markdown_headings_give_a_heading_path():
    chunks = chunks_of(SEEDS / "004_9034c93824e74505.txt")
    leak = next(c for c in chunks if "4chan" in c.text)
    assert "LLaMA: The Leak That Changed Everything" in str(leak.metadata["anchor"])
    assert " > " in str(leak.metadata["anchor"])  # nested under the H1 title


def test_plain_text_falls_back_to_line_numbers():
    chunks = chunks_of(SEEDS / "003_28e6aa56330e3488.txt")
    first = chunks[0]
    assert first.metadata["anchor"].startswith("line")
    lines = (SEEDS / "003_28e6aa56330e3488.txt").read_text(encoding="utf-8").splitlines()
    start = int(str(first.metadata["anchor"]).split()[1].split("–")[0])
    assert lines[start - 1].strip() and lines[start - 1].strip()[:20] in first.text


def test_chunks_respect_size_and_cover_the_text():
    path = SEEDS / "003_28e6aa56330e3488.txt"
    chunks = chunks_of(path, size=500)
    assert all(len(c.text) <= 500 for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert "whoopee cushions" in joined and "Commoditizing your Complement" in joined


def test_ids_and_metadata_are_deterministic():
    a = chunks_of(SEEDS / "001_5fec047b8f95376e.txt")
    b = chunks_of(SEEDS / "001_5fec047b8f95376e.txt")
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    meta = a[0].metadata
    assert meta["title"] == "Meta AI: LLaMA and Open Source Strategy"
    assert meta["source"].endswith("001_5fec047b8f95376e.txt")
    assert len(str(meta["doc_hash"])) == 64


def test_a_text_file_read_in_parts_keeps_line_numbers_and_heading_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(loaders.text, "TEXT_PART_CHARS", 300)  # many parts from a small file
    lines = ["# Handbook", "", "## Travel", ""]
    lines += [f"Travel rule {n} says trains beat planes under 500 km." for n in range(40)]
    lines += ["", "## Leave", ""]
    lines += [f"Leave rule {n} says book a week ahead." for n in range(40)]
    path = tmp_path / "handbook.md"
    path.write_text("\n".join(lines) + "\n")
    doc = loaders.open_document(path)
    assert len(list(loaders.open_document(path).sections)) > 5
    chunks = chunk_document(doc, chunk_size=200, chunk_overlap=0, collection="c")
    rules = [c for c in chunks if c.text.startswith(("Travel rule", "Leave rule"))]
    assert len(rules) > 20
    for chunk in rules:
        expected = "Handbook > Leave" if chunk.text.startswith("Leave") else "Handbook > Travel"
        assert chunk.metadata["anchor"] == expected, chunk.text
    assert any("Leave rule 39" in c.text for c in chunks)


def test_plain_text_read_in_parts_anchors_the_real_line_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(loaders.text, "TEXT_PART_CHARS", 250)
    path = tmp_path / "log.txt"
    path.write_text("".join(f"entry {n:03d}: the backup ran fine\n\n" for n in range(100)))
    lines = path.read_text().splitlines()
    chunks = chunk_document(loaders.load(path), chunk_size=120, chunk_overlap=0, collection="c")
    assert len(chunks) > 10
    for chunk in chunks:
        first = int(str(chunk.metadata["anchor"]).split()[1].split("–")[0])
        assert chunk.text.startswith(lines[first - 1]), (chunk.metadata["anchor"], chunk.text)


def test_a_large_text_file_is_read_lazily_one_part_at_a_time(tmp_path):
    path = tmp_path / "big.txt"
    with path.open("w") as f:
        for n in range(20_000):  # ~1 MB
            f.write(f"Paragraph {n} is about nothing in particular at all.\n\n")
    sections = iter(loaders.open_document(path).sections)
    first = next(sections)
    assert len(first.text) <= 2 * loaders.text.TEXT_PART_CHARS
    assert "Paragraph 19999" not in first.text
    rest = list(sections)
    assert "Paragraph 19999" in rest[-1].text
    assert sum(s.text.count("\n") for s in [first, *rest]) == 40_000


def test_a_long_heading_line_of_hashes_chunks_in_linear_time(tmp_path):
    """The heading pattern once rescanned the line's tail at every character."""
    import time

    path = tmp_path / "hashes.md"
    path.write_text("# a" + " #" * 400_000 + "b\n\nText after it.\n")
    started = time.perf_counter()
    chunks = chunk_document(loaders.load(path), chunk_size=700, chunk_overlap=0, collection="c")
    assert time.perf_counter() - started < 30
    assert chunks[-1].metadata["anchor"].startswith("a #")


def test_heading_names_drop_their_closing_hashes(tmp_path):
    path = tmp_path / "closed.md"
    path.write_text("# Leave ##\n\n## Sick days #\n\nTwo weeks.\n")
    [chunk] = chunk_document(loaders.load(path), chunk_size=700, chunk_overlap=0, collection="c")
    assert chunk.metadata["anchor"] == "Leave"
