"""Scanned pages made in tests: text drawn with Pillow on a letter-size page at 200 DPI,
then 'scanned' (a small rotation and noise), saved as PNG, TIFF or an image-only PDF."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image, ImageDraw, ImageFont


def scanned_page(lines: list[str], *, seed: int = 1, angle: float = 1.5) -> Image.Image:
    page = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=44)
    for i, line in enumerate(lines):
        draw.text((150, 200 + i * 90), line, fill=0, font=font)
    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False)
    rng = random.Random(seed)
    pixels = page.load()
    for _ in range(20_000):  # dust and speckles
        x, y = rng.randrange(page.width), rng.randrange(page.height)
        pixels[x, y] = rng.choice((0, 90, 180))
    return page


def scanned_pdf(pages: list[list[str]]) -> bytes:
    """An image-only PDF (no text layer), one scanned page per entry."""
    images = [scanned_page(lines, seed=i).convert("RGB") for i, lines in enumerate(pages)]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


def image_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


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
