"""Office and OpenDocument files made by the tests (XLSX, PPTX, ODF)."""

import re
import zipfile
from pathlib import Path


def save_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def unplaced_sheet_xlsx(path: Path) -> Path:
    """A workbook whose sheet "Odd" has lost its part's id (found by the fuzz test): openpyxl
    warns ("... invalid specification ...") and drops that sheet; "Kept" reads as "Name: Ada"."""
    save_xlsx(path, {"Kept": [["Name"], ["Ada"]], "Odd": [["X"], ["1"]]})
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    book = parts["xl/workbook.xml"]
    parts["xl/workbook.xml"] = re.sub(rb'(name="Odd"[^>]*) r:id="rId2"', rb"\1", book)
    assert parts["xl/workbook.xml"] != book
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def encrypted_xlsx(path: Path, sheets: dict[str, list[list[object]]], password: str) -> Path:
    """A real password-protected XLSX (Office's agile encryption, by msoffcrypto-tool): an
    OLE container holding the encrypted workbook, as Excel writes it."""
    import io

    from msoffcrypto.format.ooxml import OOXMLFile

    plain = save_xlsx(path.with_suffix(".plain.xlsx"), sheets)
    locked = io.BytesIO()
    with open(plain, "rb") as f:
        OOXMLFile(f).encrypt(password, locked)
    plain.unlink()
    path.write_bytes(locked.getvalue())
    return path


def pptx_deck(path: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for i, (title, body, notes) in enumerate(
        [
            ("Budget 2026", "Travel cut by ten percent", "Say it gently"),
            ("Hiring", "Two nurses for ward B", "Ask finance first"),
        ]
    ):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        slide.notes_slide.notes_text_frame.text = notes
        if i == 1:
            shape = slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1))
            for r, row in enumerate([["Ward", "Beds"], ["B", "24"]]):
                for c, value in enumerate(row):
                    shape.table.cell(r, c).text = value
    deck.save(path)
    return path


ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
    ' xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"'
)


MIMETYPES = {
    ".odt": ("text", "application/vnd.oasis.opendocument.text"),
    ".ods": ("spreadsheet", "application/vnd.oasis.opendocument.spreadsheet"),
    ".odp": ("presentation", "application/vnd.oasis.opendocument.presentation"),
}


def save_odf(path: Path, body: str) -> Path:
    """A minimal OpenDocument file, as LibreOffice lays it out (mimetype first, stored)."""
    kind, mimetype = MIMETYPES[path.suffix]
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS}>'
        f"<office:body><office:{kind}>{body}</office:{kind}></office:body>"
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
    return path
