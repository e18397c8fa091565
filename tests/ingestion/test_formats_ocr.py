"""Scanned PDFs and images through the real Tesseract (issue 16.1): pages drawn and 'scanned'
here, OCR'd, anchored with their confidence, and found by a question about their text."""

import re
from pathlib import Path

import pytest
from support.pdfs import text_pdf
from support.scans import image_bytes, png_header, scanned_page, scanned_pdf, tiff_of

from ingest.indexer import ingest_paths
from ingest.loaders import Limits, LoadError, load
from ingest.loaders import ocr as ocr_module

MEMO = ["Ward seven closes for cleaning", "on the third of March.", "Patients move to ward nine."]
INVOICE = ["Invoice 4471 from Northwind Supplies", "Total due: 1280 euros"]

pytestmark = pytest.mark.apt  # Debian's tesseract-ocr (tests/run.sh installs it)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def test_a_scanned_pdf_is_ocrd_page_by_page_with_its_confidence(tmp_path):
    doc = load(write(tmp_path, "scan.pdf", scanned_pdf([MEMO, INVOICE])))
    first, second = doc.sections
    assert re.fullmatch(r"page 1 \(OCR, \d+%\)", first.anchor), first.anchor
    assert {"ward", "cleaning", "march", "patients", "nine"} <= words(first.text)
    assert {"invoice", "4471", "northwind", "1280", "euros"} <= words(second.text)
    assert 60 < first.metadata["ocr_confidence"] <= 100
    assert first.metadata["ocr_low_confidence"] is False


def test_pages_with_a_text_layer_are_not_ocrd(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in (text_pdf(["A typed page about the canteen menu and its opening hours."]),
                 scanned_pdf([MEMO])):  # fmt: skip
        for page in PdfReader(write(tmp_path, "part.pdf", data)).pages:
            writer.add_page(page)
    mixed = tmp_path / "mixed.pdf"
    with open(mixed, "wb") as f:
        writer.write(f)
    typed, scanned = load(mixed).sections
    assert typed.anchor == "page 1" and "ocr_confidence" not in typed.metadata
    assert scanned.anchor.startswith("page 2 (OCR, ")


def test_png_and_multipage_tiff_are_ocrd(tmp_path):
    png = load(write(tmp_path, "memo.png", image_bytes(scanned_page(MEMO), "PNG")))
    [section] = png.sections
    assert section.anchor.startswith("OCR, ") and "cleaning" in words(section.text)
    pages = [scanned_page(MEMO, seed=1), scanned_page(INVOICE, seed=2)]
    tiff = image_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    doc = load(write(tmp_path, "letters.tiff", tiff))
    assert [s.anchor.split(" (")[0] for s in doc.sections] == ["page 1", "page 2"]
    assert "northwind" in words(doc.sections[1].text)


def test_a_page_below_the_confidence_setting_is_indexed_but_flagged(tmp_path):
    path = write(tmp_path, "faint.png", image_bytes(scanned_page(MEMO), "PNG"))
    [section] = load(path, limits=Limits(ocr_min_confidence=99.9)).sections
    assert section.anchor.endswith("%, low confidence")
    assert section.metadata["ocr_low_confidence"] is True


def test_a_question_about_the_drawn_text_retrieves_that_page(fresh, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    write(folder, "letters.pdf", scanned_pdf([MEMO, INVOICE]))
    write(folder, "notes.txt", b"The library lends books for three weeks.\n")
    s = fresh.settings
    report = ingest_paths(
        [folder], fresh.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap
    )
    assert report.counts["added"] == 2, report.to_dict()
    hits = fresh.retriever.retrieve("How much is the Northwind Supplies invoice?").hits
    assert hits and hits[0].chunk.metadata["anchor"].startswith("page 2 (OCR, ")
    assert Path(str(hits[0].chunk.metadata["source"])).name == "letters.pdf"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("bomb.png", png_header(30_000, 30_000), "image of 900,000,000 pixels, over the 89"),
        ("many.tiff", tiff_of(10_000), "10,000 pages, over the 2,000-page limit"),
        ("blank.png", image_bytes(scanned_page([]), "PNG"), "no text found by OCR"),
        ("fake.jpg", b"\xff\xd8\xff not really a jpeg" * 10, "corrupt image"),
        ("blank.pdf", scanned_pdf([[]]), "no extractable text, not even by OCR"),
    ],
)
def test_hostile_images_fail_with_one_line(tmp_path, name, data, reason):
    with pytest.raises(LoadError, match=re.escape(reason)) as info:
        load(write(tmp_path, name, data))
    assert "\n" not in str(info.value)


def test_a_missing_engine_or_language_names_the_package(tmp_path, monkeypatch):
    png = write(tmp_path, "memo.png", image_bytes(scanned_page(MEMO), "PNG"))
    with pytest.raises(LoadError, match=re.escape("apt-get install tesseract-ocr-xyz")):
        load(png, limits=Limits(ocr_languages="eng+xyz"))
    ocr_module.engine_problem.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on it
    try:
        with pytest.raises(LoadError, match=re.escape("(apt-get install tesseract-ocr)")):
            load(png)
        pdf = write(tmp_path, "scan.pdf", scanned_pdf([MEMO]))
        with pytest.raises(LoadError, match=r"^scanned PDF: OCR needs Tesseract"):
            load(pdf)
    finally:
        ocr_module.engine_problem.cache_clear()
