"""Images (PNG, JPEG, TIFF) through OCR: a single image is one section, each page of a
multi-page TIFF its own ("page 3 (OCR, 91%)"), read one at a time. The pixel count is checked
from the header before a pixel is decoded (decompression bombs), and so is the page count."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from ingest.loaders.base import LoadError, ReadContext, Section, os_reason, short
from ingest.loaders.ocr import ocr_error, ocr_section, require_engine

MAX_PIXELS = 89_000_000  # about Pillow's own guard: an A1 poster at 300 DPI
MAX_PAGES = 2000
_LIMIT = f"{MAX_PIXELS // 10**6} million pixel limit"


def _open(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard (89 million pixels) fires first; say it in our words.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise LoadError(f"image of {size}, over the {_LIMIT} (a decompression bomb?)") from exc
    except UnidentifiedImageError as exc:
        raise LoadError("corrupt image (not a PNG, JPEG or TIFF its name says)") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise LoadError(f"image of {width:,} x {height:,} pixels, over the {_LIMIT} (a bomb?)")
    return image


def read_image(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    from PIL import Image

    require_engine(ctx.limits.ocr_languages)
    image = _open(path)
    try:
        pages = getattr(image, "n_frames", 1)
    except (OSError, ValueError, EOFError) as exc:
        image.close()
        raise LoadError(f"corrupt image ({short(exc)})") from exc
    if pages > MAX_PAGES:
        image.close()
        raise LoadError(f"{pages:,} pages, over the {MAX_PAGES:,}-page limit for an image file")
    limits = ctx.limits

    def sections() -> Iterator[Section]:
        found = False
        with image:
            for number in range(1, pages + 1):
                anchor = f"page {number}" if pages > 1 else ""
                try:
                    image.seek(number - 1)
                    if image.width * image.height > MAX_PIXELS:
                        raise LoadError(f"a {image.width:,} x {image.height:,} page: too large")
                    frame = image.convert("RGB")
                except (OSError, ValueError, EOFError, Image.DecompressionBombError) as exc:
                    if pages == 1:
                        raise LoadError(f"corrupt image ({short(exc)})") from exc
                    ctx.skipped.append(f"page {number} ({short(exc)})")
                    continue
                try:
                    section = ocr_section(
                        frame, anchor, limits.ocr_languages, limits.ocr_min_confidence
                    )
                except (RuntimeError, OSError) as exc:
                    ctx.skipped.append(f"{anchor or 'image'} ({ocr_error(exc)})")
                    continue
                if section:
                    found = True
                    yield section
        if not found:
            raise LoadError("no text found by OCR (an image without text?)")

    return None, sections()
