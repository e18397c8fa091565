"""Office files, mail and hostile images made in tests by the libraries that write them
(or by hand, where the point is a header that lies): no binary fixtures on disk."""

from __future__ import annotations

import struct
import zipfile
import zlib
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


def nested_mime(levels: int) -> bytes:
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(levels)
    )
    tail = "".join(f"\n--b{i}--\n" for i in reversed(range(levels)))
    return f"From: x@example.com\nSubject: deep\nMIME-Version: 1.0\n{head}\nhello{tail}".encode()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds almost nothing: the bomb is in the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def tiff_of(pages: int) -> bytes:
    """A TIFF of `pages` 1x1 grey pages, all sharing one strip byte (written by hand:
    Pillow takes minutes for 10,000 frames)."""
    ifd_size = 2 + 8 * 12 + 4
    strip = 8 + pages * ifd_size
    tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1)]
    tags += [(273, 4, 1, strip), (278, 3, 1, 1), (279, 4, 1, 1)]  # strip offset, rows, bytes
    entries = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *t) for t in tags)
    out = [b"II*\x00" + struct.pack("<I", 8)]
    for i in range(pages):
        following = 0 if i == pages - 1 else 8 + (i + 1) * ifd_size
        out.append(entries + struct.pack("<I", following))
    return b"".join(out) + b"\xff"
