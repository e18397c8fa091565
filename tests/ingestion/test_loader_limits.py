"""Hostile input the existing formats must survive (issue 12): deeply nested HTML, zip bombs
in zip-based formats, and text in whatever encoding it comes (issue 16.6)."""

import codecs
import io
import re
import time
import zipfile
from pathlib import Path

import pytest

from ingest.indexer import ingest_paths
from ingest.loaders import Limits, LoadError, load


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- HTML nesting (12.5) -------------------------------------------------------------
def test_200000_nested_divs_are_one_clear_error_in_seconds(tmp_path):
    path = write(tmp_path, "nested.html", b"<html><body>" + b"<div>" * 200_000 + b"deep")
    started = time.perf_counter()
    with pytest.raises(LoadError, match=r"HTML nested over 512 elements deep"):
        load(path)
    assert time.perf_counter() - started < 30  # BeautifulSoup took over 5 minutes


def test_nesting_is_linear_when_the_limit_allows_it(tmp_path):
    body = b"<div><p>level</p>" * 100_000 + b"bottom" + b"</div>" * 100_000
    path = write(tmp_path, "deep.html", b"<title>Deep</title>" + body)
    started = time.perf_counter()
    doc = load(path, limits=Limits(max_html_depth=1_000_000))
    assert time.perf_counter() - started < 30
    [section] = doc.sections
    assert doc.title == "Deep"
    assert section.text.count("level") == 100_000 and section.text.endswith("bottom")


def test_html_declared_charset_and_blocks(tmp_path):
    page = "<meta charset='iso-8859-1'><ul><li>caf\u00e9<li>th\u00e9</ul><p>a<br>b</p>"
    doc = load(write(tmp_path, "latin.html", page.encode("latin-1")))
    assert doc.sections[0].text == "caf\u00e9\nth\u00e9\n\na\nb"


# --- zip bombs (12.4, 16.7) ----------------------------------------------------------
def docx_with(part: bytes) -> bytes:
    """A real DOCX whose document.xml is followed by a big, highly compressible part."""
    import docx

    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("A perfectly normal letter.")
    document.save(out)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/padding.bin", part)
    return out.getvalue()


def test_a_docx_that_inflates_past_the_limit_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, "bomb.docx", docx_with(b"\x00" * (30 << 20)))
    limits = Limits(max_unzipped_bytes=20 << 20, max_zip_ratio=10_000)
    reason = r"^expands to 3[01] MB, over the 20 MB limit \(a zip bomb\?\)$"
    with pytest.raises(LoadError, match=reason):
        load(path, limits=limits)


def test_a_docx_compressed_a_thousand_times_is_refused(tmp_path):
    path = write(tmp_path, "dense.docx", docx_with(b"\x00" * (8 << 20)))
    with pytest.raises(LoadError, match=r"compressed [\d,]+:1, over the 100:1 limit"):
        load(path)


def test_an_ordinary_docx_passes_the_zip_check(tmp_path):
    path = write(tmp_path, "letter.docx", docx_with(bytes(range(256)) * 64))
    assert "perfectly normal" in load(path).sections[0].text


def test_a_zip_bomb_fails_alone_and_its_neighbour_is_indexed(fresh, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "bomb.docx", docx_with(b"\x00" * (8 << 20)))
    write(folder, "fine.txt", b"The canteen opens at eight.\n")
    s = fresh.settings
    report = ingest_paths(
        [folder], fresh.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap
    )
    assert report.counts["added"] == 1 and report.counts["failed"] == 1
    [failed] = report.failed
    assert failed.path.endswith("bomb.docx") and "zip bomb" in failed.reason
    assert "\n" not in failed.reason


# --- encodings (16.6) ----------------------------------------------------------------
TEXT = "Caf\u00e9 menu \u2013 \u00fcber na\u00efve \u20ac5\nSecond line\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "utf-32"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_text_in_each_encoding_reads_the_same_and_records_it(tmp_path, data, encoding):
    doc = load(write(tmp_path, "menu.txt", data))
    assert doc.sections[0].text == TEXT
    assert doc.metadata["encoding"] == encoding
    assert doc.warnings == []


def test_cyrillic_code_page_is_detected(tmp_path):
    russian = "Отпуск сотрудников составляет двадцать восемь календарных дней в году.\n" * 20
    doc = load(write(tmp_path, "otpusk.txt", russian.encode("cp1251")))
    assert doc.sections[0].text == russian
    assert doc.metadata["encoding"] == "cp1251"


def test_a_stray_nul_byte_is_dropped_not_refused(tmp_path):
    doc = load(write(tmp_path, "log.txt", b"first line\x00\nsecond line\n" * 50))
    assert "\x00" not in doc.sections[0].text
    assert doc.sections[0].text.startswith("first line\nsecond line\n")


def test_a_few_undecodable_bytes_are_replaced_with_a_warning(tmp_path):
    data = ("Gr\u00fc\u00dfe aus K\u00f6ln. " * 40).encode("utf-8") + b"\xff\xfe broken \x81\n"
    doc = load(write(tmp_path, "greeting.txt", data))
    assert "Gr\u00fc\u00dfe aus K\u00f6ln." in doc.sections[0].text
    assert doc.sections[0].text.count("\ufffd") == 3
    assert doc.warnings == ["replaced 3 undecodable bytes (utf-8)"]


def test_the_replacement_warning_reaches_the_result_line(fresh, tmp_path):
    path = write(tmp_path, "note.txt", ("Caf\u00e9 " * 50).encode("utf-8") + b"\xff end\n")
    s = fresh.settings
    report = ingest_paths(
        [path], fresh.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap
    )
    [result] = report.results
    assert result.status == "added" and result.reason == "replaced 1 undecodable bytes (utf-8)"
    [chunk] = fresh.store.chunks()
    assert chunk.metadata["encoding"] == "utf-8"


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 40,  # every byte value
        b"\x89PNG\r\n\x1a\n" + bytes(1000) + b"IHDR" + bytes(range(32)) * 30,
        b"\x00\x01\x02\x03" * 500,
    ],
)
def test_real_binary_data_is_still_refused(tmp_path, data):
    with pytest.raises(LoadError, match=re.escape("binary data, not text")):
        load(write(tmp_path, "data.txt", data))
