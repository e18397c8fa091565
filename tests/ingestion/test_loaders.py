"""Loading files: every unreadable file gets its own one-line reason, never a traceback."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import ROOT
from support.pdfs import encrypted_pdf, text_pdf

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


def _docx_bytes() -> bytes:
    import io

    import docx

    out = io.BytesIO()
    d = docx.Document()
    d.add_paragraph("hello")
    d.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("setup.exe", b"MZ\x90\x00", "unsupported file type '.exe'"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n ", "empty file"),
        ("zero.pdf", b"", "empty file"),
        ("junk.txt", b"\x00\x01\x02binary", "binary data, not text"),
        ("random.txt", bytes(range(256)) * 8, "binary data, not text"),
        ("junk.pdf", bytes(range(256)) * 8, "corrupt PDF"),
        ("truncated.pdf", text_pdf(["hello world"])[:60], "corrupt PDF"),
        ("locked.pdf", encrypted_pdf("secret plans"), "encrypted PDF"),
        ("scan.pdf", text_pdf([""]), "no extractable text"),
        ("huge.txt", b"x" * (loaders.MAX_LINE_CHARS + 1), "a line of over 1,000,000 characters"),
        ("bad.html", b"", "empty file"),
        ("scripts.html", b"<script>alert(1)</script>", "no visible text"),
        ("junk.docx", b"PK\x03\x04 not really a zip", "corrupt DOCX"),
        ("truncated.docx", _docx_bytes()[:500], "corrupt DOCX"),
        ("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "encrypted DOCX"),
        ("binary.pdf", b"MZ\x90\x00" + bytes(range(256)) * 4, "no %PDF header"),
        ("mid.pdf", text_pdf(["one", "two"])[:-120], "corrupt PDF"),
    ],
)
def test_bad_files_fail_with_their_reason(tmp_path, name, data, reason):
    with pytest.raises(LoadError, match=re.escape(reason)):
        load(write(tmp_path, name, data))


def test_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(loaders, "MAX_FILE_BYTES", 10)
    with pytest.raises(LoadError, match="too large"):
        load(write(tmp_path, "big.txt", b"x" * 100))


def test_html_keeps_visible_text_and_title_and_anchors_headings(tmp_path):
    page = (
        b"<html><head><title>Canteen hours</title><style>p{color:red}</style>"
        b"<script>var secret = 1;</script></head><body><h1>Food</h1><h2>Breakfast</h2>"
        b"<p>Opens at <b>8am</b> &amp; closes at 10.</p><noscript>enable js</noscript>"
        b"</body></html>"
    )
    doc = load(write(tmp_path, "canteen.html", page))
    [section] = doc.sections
    assert doc.title == "Canteen hours"
    assert "Opens at 8am & closes at 10." in section.text
    assert "secret" not in section.text and "color" not in section.text
    assert "enable js" not in section.text
    assert "# Food" in section.text and "## Breakfast" in section.text


def test_docx_paragraphs_tables_and_heading_styles(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("Travel policy", 0)
    d.add_heading("Trains", 1)
    d.add_paragraph("Second class only.")
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Zone", "Budget"
    d.save(tmp_path / "travel.docx")
    doc = load(tmp_path / "travel.docx")
    [section] = doc.sections
    assert doc.title == "Travel policy"
    assert "## Trains\n" in section.text and "Second class only." in section.text
    assert "Zone | Budget" in section.text


def test_pdf_pages_stream_one_at_a_time(tmp_path):
    path = write(tmp_path, "long.pdf", text_pdf([f"Page {i} text" for i in range(1, 6)]))
    doc = loaders.open_document(path)
    pages = iter(doc.sections)
    assert next(pages).anchor == "page 1"  # nothing past page 1 is extracted yet
    assert [s.anchor for s in pages] == [f"page {i}" for i in range(2, 6)]


def test_special_files_are_refused_without_opening(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # opening it would block forever
    with pytest.raises(LoadError, match="not a regular file"):
        load(fifo)
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    with pytest.raises(LoadError, match="symlink loop"):
        load(tmp_path / "loop.txt")


def test_unreadable_file_reports_permission_denied_on_the_real_os_path(tmp_path):
    """CI runs as root, which reads through chmod 000: read as `nobody` in a subprocess."""
    secret = write(tmp_path, "secret.txt", b"salaries")
    secret.chmod(0o000)
    tmp_path.chmod(0o755)
    script = (
        "import json, pathlib; from ingest.loaders import LoadError, load\n"
        f"try:\n    load(pathlib.Path({str(secret)!r})); print('read')\n"
        "except LoadError as e:\n    print(e)\n"
    )
    cmd = [sys.executable, "-c", script]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "permission denied", out.stderr


def test_a_damaged_pdf_page_is_skipped_and_named_and_the_others_are_read(tmp_path):
    pages = ["Llamas graze in the Andes.", "This page is damaged.", "Alpacas give fine wool."]
    path = tmp_path / "animals.pdf"
    path.write_bytes(text_pdf(pages, damaged={2}))
    doc = load(path)
    assert [s.anchor for s in doc.sections] == ["page 1", "page 3"]
    assert "Alpacas" in doc.sections[1].text
    assert len(doc.skipped) == 1 and doc.skipped[0].startswith("page 2 (")


def test_a_pdf_with_no_readable_page_is_corrupt(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(text_pdf(["One.", "Two."], damaged={1, 2}))
    with pytest.raises(LoadError, match=r"corrupt PDF \(no readable page; page 1"):
        load(path)
