"""OCR with Tesseract (Debian's `tesseract-ocr` and its language packs, called through
pytesseract): offline, nothing downloaded at run time. One call per page gives the words
with their confidences; the page's text is rebuilt from them (lines, paragraphs) and its
confidence is the mean over its words. `engine_problem` says what to install when Tesseract
or a language is missing (for `assistant doctor` and each file's error)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ingest.cleaning import clean
from ingest.loaders.base import LoadError, Meta, Section

OCR_TIMEOUT_S = 120  # one page; a hung engine must not hang the run
BLANK_SHARE = 0.0005  # fewer dark pixels than this after denoising: a blank page
_INSTALL = "apt-get install tesseract-ocr"


@dataclass
class OcrPage:
    text: str
    confidence: float  # mean word confidence, 0-100


@lru_cache(maxsize=8)
def engine_problem(languages: str = "eng") -> str | None:
    """None when Tesseract and every language of `languages` ("eng+deu") are installed, else
    one line naming the Debian package to install."""
    if shutil.which("tesseract") is None:
        return f"OCR needs Tesseract, which is not installed ({_INSTALL})"
    import pytesseract

    try:
        installed = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractError, OSError) as exc:
        return f"Tesseract does not run ({' '.join(str(exc).split())[:100]})"
    missing = [lang for lang in languages.split("+") if lang not in installed]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
        return f"OCR language {'+'.join(missing)} is not installed (apt-get install {packages})"
    return None


def require_engine(languages: str) -> None:
    problem = engine_problem(languages)
    if problem:
        raise LoadError(problem)


def ocr_image(image: Any, languages: str) -> OcrPage:
    """Text and confidence of one page image (a PIL image)."""
    import pytesseract
    from PIL import ImageFilter

    # Grey, and a 3x3 median: scanner dust and speckles otherwise read as letters and can
    # throw Tesseract's page layout off (whole lines lost). A page left blank by that is
    # not OCR'd at all: Tesseract can spend minutes looking for text in pure noise.
    grey = image.convert("L").filter(ImageFilter.MedianFilter(3))
    if sum(grey.histogram()[:128]) < BLANK_SHARE * grey.width * grey.height:
        return OcrPage("", 0.0)
    data = pytesseract.image_to_data(
        grey,
        lang=languages,
        output_type=pytesseract.Output.DICT,
        timeout=OCR_TIMEOUT_S,
    )
    lines: list[str] = []
    confidences: list[float] = []
    where = None
    for i, word in enumerate(data["text"]):
        word = word.strip()
        if not word or float(data["conf"][i]) < 0:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        if where is None or key != where:
            if where is not None and key[:2] != where[:2]:
                lines.append("")  # a new paragraph
            lines.append(word)
            where = key
        else:
            lines[-1] += " " + word
        confidences.append(float(data["conf"][i]))
    text = "\n".join(lines)
    confidence = sum(confidences) / len(confidences) if confidences else 0.0
    return OcrPage(text, confidence)


def ocr_section(image: Any, anchor: str, languages: str, min_confidence: float) -> Section | None:
    """One OCR'd page as a section, its confidence beside the anchor ("page 3 (OCR, 91%)") and
    in its chunks' metadata; a page below `min_confidence` is flagged, not dropped."""
    page = ocr_image(image, languages)
    cleaned = clean(page.text, front_matter=False)
    if not cleaned.text.strip():
        return None
    low = page.confidence < min_confidence
    note = f"OCR, {page.confidence:.0f}%" + (", low confidence" if low else "")
    meta: Meta = {"ocr_confidence": round(page.confidence, 1), "ocr_low_confidence": low}
    return Section(cleaned.text, f"{anchor} ({note})" if anchor else note, metadata=meta)


def ocr_error(exc: BaseException) -> str:
    """A one-line reason for a failed OCR call (pytesseract raises RuntimeError on timeout)."""
    if isinstance(exc, RuntimeError) and "timeout" in str(exc).lower():
        return f"OCR timed out after {OCR_TIMEOUT_S} s"
    return "OCR failed (" + " ".join(str(exc).split())[:100] + ")"
