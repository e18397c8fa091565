"""Spreadsheets, CSV, slides and OpenDocument (issue 16.2, 16.3, 16.5): each made here by the
libraries that write them, read back with anchors a citation can point at."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from support.office import pptx_deck, save_odf, save_xlsx, unplaced_sheet_xlsx

from ingest.chunking import chunk_document
from ingest.loaders import LoadError, load


def with_cached_value(path: Path, value: str) -> None:
    """openpyxl writes formulas without the value Excel caches: add one, as Excel would."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<v></v>", f"<v>{value}</v>".encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_xlsx_rows_carry_their_header_and_cell_range_anchor(tmp_path):
    rows = [["Region", "Q3 revenue", "Owner"]]
    rows += [[f"Region {i}", f"{i}.1M", f"Person {i}"] for i in range(1, 120)]
    path = save_xlsx(tmp_path / "sales.xlsx", {"Sales": rows, "Notes": [["Note"], ["Audit"]]})
    doc = load(path)
    anchors = [s.anchor for s in doc.sections]
    assert anchors[0].startswith("Sales!A2:C") and anchors[-1] == "Notes!A2:A2"
    assert "Region: Region 1, Q3 revenue: 1.1M, Owner: Person 1" in doc.sections[0].text
    # Consecutive ranges cover every data row once, each section about one chunk.
    spans = [tuple(map(int, re.findall(r"(\d+)", a)[:2])) for a in anchors[:-1]]
    assert spans[0][0] == 2 and spans[-1][1] == 120
    assert all(b[0] == a[1] + 1 for a, b in zip(spans, spans[1:], strict=False))
    chunks = chunk_document(doc, chunk_size=700, chunk_overlap=100, collection="c")
    assert len(chunks) == len(anchors)
    assert any(c.metadata["anchor"] == anchors[3] for c in chunks)


def test_xlsx_formulas_give_their_cached_values(tmp_path):
    path = save_xlsx(tmp_path / "calc.xlsx", {"Calc": [["Price", "Qty", "Total"], [2, 21]]})
    import openpyxl

    book = openpyxl.load_workbook(path)
    book["Calc"]["C2"] = "=A2*B2"
    book.save(path)
    with_cached_value(path, "42")
    [section] = load(path).sections
    assert section.text == "Price: 2, Qty: 21, Total: 42"


def test_csv_is_sniffed_and_anchored_by_rows(tmp_path):
    text = "Name;City;Salary\n" + "".join(f"N{i};Z\u00fcrich;{i}000\n" for i in range(1, 60))
    path = tmp_path / "staff.csv"
    path.write_bytes(text.encode("cp1252"))
    doc = load(path)
    assert doc.sections[0].anchor.startswith("rows 2\u2013")
    assert "Name: N1, City: Z\u00fcrich, Salary: 1000" in doc.sections[0].text
    assert doc.metadata["encoding"] == "cp1252"


def test_an_xlsx_sheet_streams_from_a_big_file(tmp_path):
    rows = [["Id", "Value"]] + [[i, f"v{i}"] for i in range(20_000)]
    doc = load(save_xlsx(tmp_path / "big.xlsx", {"Data": rows}))
    assert sum(s.text.count("\n") + 1 for s in doc.sections) == 20_000


def test_slides_are_sections_with_title_body_tables_and_notes(tmp_path):
    doc = load(pptx_deck(tmp_path / "plan.pptx"))
    assert [s.anchor for s in doc.sections] == ["slide 1", "slide 2"]
    second = doc.sections[1].text
    assert second.startswith("# Hiring\n")
    assert "Two nurses for ward B" in second and "Ward | Beds" in second and "B | 24" in second
    assert "Notes: Ask finance first" in second
    chunks = chunk_document(doc, chunk_size=700, chunk_overlap=0, collection="c")
    assert chunks[1].metadata["anchor"] == "slide 2 \u00b7 Hiring"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "password-protected"),
        ("junk.xlsx", b"PK\x03\x04 nothing more", "corrupt XLSX"),
        ("junk.pptx", b"PK\x03\x04 nothing more", "corrupt PPTX"),
        ("locked.pptx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "password-protected"),
        ("junk.ods", b"PK\x03\x04 nothing more", "corrupt ODS"),
        ("long.csv", b"a,b\n" + b"x" * (50 << 20) + b"\n", "a line of over 1,000,000"),
        ("binary.csv", bytes(range(256)) * 8, "binary data"),
    ],
)
def test_bad_office_files_fail_with_one_line(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=re.escape(reason)) as info:
        load(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("at", "value", "reason"),
    [(8, 1, "password-protected ODT"), (10, 9, "unknown compression method 9")],
    ids=["encrypted", "deflate64"],
)
def test_a_part_zipfile_cannot_open_is_one_clear_line(tmp_path, at, value, reason):
    """The central directory says a part is encrypted, or packed by a method Python lacks:
    one line before any parser runs, not zipfile's RuntimeError or NotImplementedError (the
    fuzz test found both)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content/>")
    data = bytearray(out.getvalue())
    entry = data.rindex(b"PK\x01\x02")  # the last central directory entry: content.xml
    data[entry + at : entry + at + 2] = value.to_bytes(2, "little")
    path = tmp_path / "odd.odt"
    path.write_bytes(bytes(data))
    with pytest.raises(LoadError, match=reason):
        load(path)


def test_a_zip_that_is_not_the_format_it_claims_is_corrupt(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "not a deck")
    for suffix, kind in ((".pptx", "PPTX"), (".xlsx", "XLSX"), (".odt", "ODT")):
        path = tmp_path / f"fake{suffix}"
        path.write_bytes(out.getvalue())
        with pytest.raises(LoadError, match=f"corrupt {kind}"):
            load(path)


def test_odt_headings_paragraphs_and_tables(tmp_path):
    body = (
        '<text:h text:outline-level="1">Leave policy</text:h>'
        "<text:p>Staff get<text:s/>28 days.</text:p>"
        '<text:h text:outline-level="2">Sick days</text:h>'
        "<text:list><text:list-item><text:p>Call before nine</text:p></text:list-item></text:list>"
        "<table:table><table:table-row><table:table-cell><text:p>Grade</text:p></table:table-cell>"
        "<table:table-cell><text:p>Days</text:p></table:table-cell></table:table-row>"
        "</table:table>"
    )
    doc = load(save_odf(tmp_path / "leave.odt", body))
    [section] = doc.sections
    assert "# Leave policy\n" in section.text and "## Sick days\n" in section.text
    assert "Staff get 28 days." in section.text and "Call before nine" in section.text
    assert "Grade | Days" in section.text
    [chunk] = chunk_document(doc, chunk_size=700, chunk_overlap=0, collection="c")
    assert chunk.metadata["anchor"] == "Leave policy"


def test_ods_sheets_like_xlsx_with_repeated_cells_and_rows(tmp_path):
    def row(*cells: str, repeat: int = 1) -> str:
        inner = "".join(
            f"<table:table-cell><text:p>{c}</text:p></table:table-cell>"
            if c
            else '<table:table-cell table:number-columns-repeated="3"/>'
            for c in cells
        )
        return f'<table:table-row table:number-rows-repeated="{repeat}">{inner}</table:table-row>'

    body = (
        '<table:table table:name="Beds">'
        + row("Ward", "", "Beds")
        + row("A", "", "12", repeat=2)
        + '<table:table-row table:number-rows-repeated="1048000"><table:table-cell/>'
        "</table:table-row>" + row("C", "", "9") + "</table:table>"
    )
    doc = load(save_odf(tmp_path / "beds.ods", body))
    [section] = doc.sections
    assert section.anchor == "Beds!A2:E1048004"
    assert section.text.splitlines() == [
        "Ward: A, Beds: 12",
        "Ward: A, Beds: 12",
        "Ward: C, Beds: 9",
    ]


def test_odp_slides_with_titles_and_notes(tmp_path):
    body = (
        '<draw:page draw:name="p1"><draw:frame presentation:class="title"><draw:text-box>'
        "<text:p>Quarterly review</text:p></draw:text-box></draw:frame>"
        '<draw:frame presentation:class="outline"><draw:text-box><text:p>Beds up 4%</text:p>'
        "</draw:text-box></draw:frame><presentation:notes><draw:frame><draw:text-box>"
        "<text:p>Mention the winter peak</text:p></draw:text-box></draw:frame>"
        "</presentation:notes></draw:page>"
    )
    doc = load(save_odf(tmp_path / "review.odp", body))
    [section] = doc.sections
    assert section.anchor == "slide 1"
    assert section.text == "# Quarterly review\n\nBeds up 4%\nNotes: Mention the winter peak"


def test_a_library_warning_while_reading_is_said_in_the_file_result_not_raised(tmp_path):
    """A workbook whose sheet entry lacks its part's id: openpyxl warns and drops the sheet. The
    warning becomes the file's (said in its result line); the other sheet is read. Found by
    the fuzz test, where warnings are errors."""
    doc = load(unplaced_sheet_xlsx(tmp_path / "two.xlsx"))
    assert [s.text for s in doc.sections] == ["Name: Ada"]
    assert any("invalid specification" in w for w in doc.warnings), doc.warnings
