"""Titles people can read: a document whose format gives no title gets one from its first
heading or first sentence at ingest, and the listing, the chunks (so the source cards
and citations) and the manifest all carry it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.pdfs import text_pdf

from assistant.answering import Source
from ingest.chunking import chunk_document
from ingest.indexer import ingest_paths
from ingest.loaders import load
from ingest.titles import TITLE_CHARS, derive_title
from ui.render import sources_html

LONG = (
    "To understand why the organisation has changed its travel rules this year, it is"
    " important to look at how the budget is spent. The rest follows."
)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("\n\n# Leave policy\n\nStaff get 25 days.", "Leave policy"),
        ("Quarterly budget review\nThe budget grew by 4 %.", "Quarterly budget review"),
        (
            "The budget grew. It will grow again next year, we are told by everyone and all.",
            "The budget grew",
        ),
        (LONG, "To understand why the organisation has changed its travel rules this year, it…"),
        (
            "This sentence is wrapped\nover two lines. And a second one.",
            "This sentence is wrapped over two lines",
        ),
        (
            "---\n***\n\n**See** [[notes/plan|the plan]] and [site](https://x.example).",
            "See the plan and site.",
        ),
        ("<a href='x'>[00:01]</a> Hello there.", "[00:01] Hello there."),
        ("1. Introduction\nThe scope of this plan.", "1. Introduction"),
        ("\n---\n ... \n", None),
    ],
)
def test_a_title_is_the_first_heading_or_line_or_sentence(text: str, title: str | None):
    got = derive_title(text)
    assert got == title
    assert got is None or len(got) <= TITLE_CHARS


def test_the_seeds_without_a_title_line_get_a_readable_one(seeded):
    docs = seeded.store.documents()
    assert len(docs) == 5
    for d in docs:
        assert d.title != Path(d.source).stem, d  # no file id shown as a title
        assert 0 < len(d.title) <= max(TITLE_CHARS, 100)
        assert d.size == Path(d.source).stat().st_size
    titles = {Path(d.source).name[:3]: d.title for d in docs}
    assert titles["003"].startswith("To understand why Meta has open sourced the Llama")
    assert titles["002"].endswith("Meta seems to be all in on open-source AI")
    chunk_titles = {(c.metadata["source"], c.metadata["title"]) for c in seeded.store.chunks()}
    assert chunk_titles == {(d.source, d.title) for d in docs}  # source cards show the same


def test_a_pdf_without_a_title_is_named_by_its_first_page(tmp_path: Path):
    pdf = tmp_path / "scan-0042.pdf"
    pdf.write_bytes(text_pdf(["Annual safety report\nAll sites passed the inspection.", "p2"]))
    doc = load(pdf)
    chunks = chunk_document(doc, chunk_size=700, chunk_overlap=0, collection="c")
    assert {c.metadata["title"] for c in chunks} == {"Annual safety report"}
    assert {c.metadata["file_bytes"] for c in chunks} == {pdf.stat().st_size}


def test_a_given_title_is_kept_and_the_manifest_records_the_derived_one(fresh, tmp_path: Path):
    (tmp_path / "given.md").write_text("---\ntitle: Given title\n---\n\nBody text here.\n")
    (tmp_path / "x91f.txt").write_text(LONG + "\n")
    s = fresh.settings
    ingest_paths([tmp_path], fresh.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap)
    titles = {Path(d.source).name: d.title for d in fresh.store.documents()}
    assert titles == {"given.md": "Given title", "x91f.txt": derive_title(LONG)}


def test_a_source_card_shows_the_title_beside_the_file_name():
    def card(title: str) -> str:
        return sources_html(
            [Source(1, "/d/002_1fe38c.txt", title, "line 1", "snippet", 0.5, "c1")], final=False
        )

    assert '<span class="src-title">Meta &amp; open models</span>' in card("Meta & open models")
    assert "src-title" not in card("002_1fe38c")  # the file's stem only: not repeated
