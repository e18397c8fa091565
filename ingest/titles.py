"""A readable title for a document that has none: its first heading or first sentence.

Without one, the Documents page, the source cards and the citations showed the file
name, which for exported notes is an id (`002_1fe38c41840b6cd6`). A title names what the
document is about, so it is taken from the start of its text: the first line when it is a
heading or short enough to be one, else that line's first sentence, trimmed at a word.
"""

from __future__ import annotations

import re

TITLE_CHARS = 80  # fits a table cell and a source card; longer is cut at a word, with "…"
_SCAN_LINES = 40  # only the start of a document is looked at
_WIKI_LINK = re.compile(r"\[\[(?:[^\]|]*\|)?([^\]]*)\]\]")  # [[target|label]] -> label
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # [label](url) -> label
_MARKUP = re.compile(r"[*`]+|^#{1,6}\s+|^>\s*|^[-+]\s+")
_TAG = re.compile(r"<[^>]*>")
_SENTENCE_END = re.compile(r"(?<=\w\w)[.!?](?=\s|$)")  # not "1." of a numbered heading


def plain(line: str) -> str:
    """A line of text without its Markdown or HTML markup, spaces collapsed."""
    line = _TAG.sub(" ", _MD_LINK.sub(r"\1", _WIKI_LINK.sub(r"\1", line)))
    return " ".join(_MARKUP.sub("", line.strip()).split())


def trim(text: str, limit: int = TITLE_CHARS) -> str:
    """`text` cut to `limit` characters at a word boundary, "…" marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"


def derive_title(text: str) -> str | None:
    """The title of a document from the start of its text; None when it has no words."""
    lines = [plain(raw) for raw in text.splitlines()[:_SCAN_LINES]]
    raws = text.splitlines()[:_SCAN_LINES]
    for i, line in enumerate(lines):
        if not any(ch.isalnum() for ch in line):
            continue  # a rule, an empty line, a row of punctuation
        if raws[i].lstrip().startswith("#") or _title_line(line, lines[i + 1 : i + 2]):
            return trim(line)
        paragraph = " ".join(_paragraph(lines[i:]))  # a hard-wrapped first sentence
        end = _SENTENCE_END.search(paragraph)
        return trim(paragraph[: end.start()] if end else paragraph)
    return None


def _title_line(line: str, after: list[str]) -> bool:
    """A short line that does not run on into the next (which would start in lower case)."""
    if len(line) > TITLE_CHARS or _SENTENCE_END.search(line[:-1]):
        return False  # too long, or a sentence ends inside it: a paragraph's start
    runs_on = bool(after) and after[0][:1].islower() and line[-1:] not in ".!?:"
    return not runs_on


def _paragraph(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if not line:
            break
        out.append(line)
    return out
