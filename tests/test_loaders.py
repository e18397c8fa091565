"""Loading files: every unreadable file gets its own one-line reason, never a traceback."""

from pathlib import Path

import pytest
from pdfs import encrypted_pdf, text_pdf

from ingest import loaders
from ingest.loaders import LoadError, load


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_pdf_pages_become_sections_anchored_by_page(tmp_path):
    path = write(tmp_path, "report.pdf", text_pdf(["Budget for 2025", "Llama runs on CPUs"]))
    doc = load(path)
    assert [s.anchor for s in doc.sections] == ["page 1", "page 2"]
    assert "Llama runs on CPUs" in doc.sections[1].text


def test_markdown_title_comes_from_the_first_heading(tmp_path):
    doc = load(write(tmp_path, "notes.md", b"# Quarterly plan\n\nText body.\n"))
    assert doc.title == "Quarterly plan"


def test_windows_1252_text_is_decoded(tmp_path):
    doc = load(write(tmp_path, "old.txt", "caf\u00e9 \u2013 na\u00efve".encode("cp1252")))
    assert doc.sections[0].text == "caf\u00e9 \u2013 na\u00efve"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("image.png", b"\x89PNG\r\n", "unsupported file type '.png'"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n ", "empty file"),
        ("zero.pdf", b"", "empty file"),
        ("junk.txt", b"\x00\x01\x02binary", "binary data, not text"),
        ("undecodable.txt", b"abc \x81\x8d\x8f\x90\x9d", "not UTF-8 and not decodable"),
        ("junk.pdf", bytes(range(256)) * 8, "corrupt PDF"),
        ("truncated.pdf", text_pdf(["hello world"])[:60], "corrupt PDF"),
        ("locked.pdf", encrypted_pdf("secret plans"), "encrypted PDF"),
        ("scan.pdf", text_pdf([""]), "no extractable text"),
    ],
)
def test_bad_files_fail_with_their_reason(tmp_path, name, data, reason):
    with pytest.raises(LoadError, match=reason.replace("(", r"\(").replace(".", r"\.")):
        load(write(tmp_path, name, data))


def test_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(loaders, "MAX_FILE_BYTES", 10)
    with pytest.raises(LoadError, match="too large"):
        load(write(tmp_path, "big.txt", b"x" * 100))
