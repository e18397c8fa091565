"""Scanned pages made in tests: text drawn with Pillow on a letter-size page at 200 DPI,
then 'scanned' (a small rotation and noise), saved as PNG, TIFF or an image-only PDF."""

from __future__ import annotations

import io
import random

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
