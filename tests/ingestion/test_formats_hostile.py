"""Issue 16.9: one folder of hostile files of every new format beside good ones, ingested as a
user would: each bad file is one line naming it and the reason, the good ones are indexed,
and what was stored before is kept."""

from pathlib import Path

import pytest
from support.mail import nested_mime
from support.scans import image_bytes, png_header, scanned_page, tiff_of

from ingest.indexer import ingest_paths

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000)  # what an encrypted Office file is
HOSTILE = {
    "ole-header.xlsx": (OLE, "password-protected XLSX"),
    "corrupt.pptx": (b"PK\x03\x04" + bytes(range(256)) * 8, "corrupt PPTX"),
    "long-line.csv": (b"a,b\n" + b"x" * (50 << 20) + b"\n", "a line of over 1,000,000"),
    "nested.eml": (nested_mime(1000), "MIME levels deep"),
    "pages.tiff": (tiff_of(10_000), "10,000 pages, over the 2,000-page limit"),
    "huge.png": (png_header(30_000, 30_000), "pixels, over the 89 million pixel limit"),
    "blank.png": (image_bytes(scanned_page([]), "PNG"), "no text found by OCR"),
}

pytestmark = pytest.mark.apt  # Debian's tesseract-ocr (tests/run.sh installs it)


def test_hostile_files_fail_one_line_each_and_good_ones_are_indexed(fresh, tmp_path):
    from support.office import encrypted_xlsx, save_xlsx

    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "kept.md").write_text("# Kept\n\nIndexed before the hostile files came.\n")
    s = fresh.settings

    def run():
        return ingest_paths(
            [folder], fresh.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap
        )

    run()
    for name, (data, _) in HOSTILE.items():
        (folder / name).write_bytes(data)
    save_xlsx(folder / "beds.xlsx", {"Beds": [["Ward", "Beds"], ["A", 12]]})
    encrypted_xlsx(folder / "locked.xlsx", {"Pay": [["Name", "Salary"], ["Kim", 1]]}, "s3cret")
    (folder / "notes.csv").write_text("Ward,Nurse\nA,Kim\n")
    report = run()
    failed = {Path(r.path).name: r.reason for r in report.failed}
    assert set(failed) == {*HOSTILE, "locked.xlsx"}
    assert (
        "password-protected XLSX" in failed["locked.xlsx"]
    )  # really encrypted, by Office's scheme
    for name, (_, reason) in HOSTILE.items():
        assert reason in failed[name] and "\n" not in failed[name], (name, failed[name])
    assert report.counts["added"] == 2 and report.counts["unchanged"] == 1
    assert {Path(d.source).name for d in fresh.store.documents()} == {
        "kept.md",
        "beds.xlsx",
        "notes.csv",
    }
