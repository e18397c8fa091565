"""PPTX slides (python-pptx): one section per slide, anchored "slide 7", holding its title
(as a Markdown heading, so chunk anchors read "slide 7 · Budget"), body text, tables and
speaker notes. Slides are read one at a time as the caller iterates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.loaders.base import LoadError, ReadContext, Section, head, os_reason, short
from ingest.loaders.docx import OLE_MAGIC
from ingest.loaders.zipguard import DAMAGE, check_zip

MAX_GROUP_DEPTH = 32  # shapes grouped inside groups: deeper is not a real deck


def _shape_lines(shapes: Iterable[Any], skip: Any, depth: int = 0) -> Iterator[str]:
    for shape in shapes:
        if shape is skip:
            continue
        if getattr(shape, "shape_type", None) == 6 and depth < MAX_GROUP_DEPTH:  # GROUP
            yield from _shape_lines(shape.shapes, skip, depth + 1)
        elif getattr(shape, "has_table", False):
            for row in shape.table.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                if any(cells):
                    yield " | ".join(cells)
        elif getattr(shape, "has_text_frame", False):
            text = shape.text_frame.text.strip()
            if text:
                yield text


def _slide_text(slide: Any) -> str:
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
    parts = [f"# {title}\n"] if title else []
    parts += list(_shape_lines(slide.shapes, title_shape))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            parts.append(f"Notes: {notes.text.strip()}")
    return "\n".join(parts).strip()


def read_pptx(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    damaged: tuple[type[BaseException], ...] = (PackageNotFoundError, *DAMAGE)
    if head(path, 8).startswith(OLE_MAGIC):
        raise LoadError("password-protected PPTX, or an old binary .ppt renamed (save as .pptx)")
    check_zip(path, ctx.limits, "PPTX")
    try:
        deck = Presentation(str(path))
        title = (deck.core_properties.title or "").strip() or None
        slides = list(deck.slides)  # the slide list only; each slide's XML is parsed lazily
    except damaged as exc:
        raise LoadError(f"corrupt PPTX ({short(exc)})") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc

    def sections() -> Iterator[Section]:
        found = False
        for number, slide in enumerate(slides, start=1):
            try:
                text = _slide_text(slide)
            except damaged as exc:
                ctx.skipped.append(f"slide {number} ({short(exc)})")
                continue
            if text:
                found = True
                yield Section(text, f"slide {number}")
        if not found:
            raise LoadError("no text on any slide")

    return title, sections()
