"""Chunks carry the most precise anchor available and deterministic ids."""

from pathlib import Path

from conftest import SEEDS

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
