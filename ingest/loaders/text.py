"""Plain text and Markdown, in any encoding a text file really comes in.

The encoding is found before the first section is made: a byte-order mark first (UTF-8,
UTF-16 and UTF-32 as Windows tools write them), then UTF-16 without a mark (every other
byte NUL), then UTF-8, then a legacy code page (charset-normalizer's guess; Windows-1252 when
that is its family). The whole file is decoded once in blocks to count what did not decode:
a few undecodable bytes are replaced (U+FFFD) and said in the file's result line; only text
that is mostly control characters or undecodable is refused. Stray NUL bytes are dropped.
The text is then read and chunked ~256k characters at a time, so a 200 MB log never sits
whole in memory.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.cleaning import clean
from ingest.loaders.base import (
    READ_BLOCK,
    LoadError,
    ReadContext,
    Section,
    head,
    os_reason,
    title_from_text,
)

MAX_LINE_CHARS = 1_000_000  # one "line" longer than this is machine data, not prose
TEXT_PART_CHARS = 1 << 18  # a text file is read and chunked ~256k characters at a time
MAX_BAD_SHARE = 0.1  # more control or undecodable characters than this: not text
_BOMS = [  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f-\x9f]")  # not \t \n \f \r ESC


@dataclass
class _Stats:
    chars: int = 0
    replaced: int = 0  # U+FFFD: bytes that did not decode
    control: int = 0
    nul: int = 0
    non_ascii: int = 0  # decoded letters beyond ASCII: UTF-8 that worked
    visible: bool = False


def _scan(path: Path, encoding: str) -> _Stats:
    """Decode the whole file in blocks, count what did not decode, refuse a monster line."""
    stats = _Stats()
    run = 0  # characters since the last line end, carried across blocks
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        while block := f.read(READ_BLOCK):
            stats.chars += len(block)
            stats.visible = stats.visible or not block.isspace()
            replaced = block.count("\ufffd")
            stats.replaced += replaced
            stats.nul += block.count("\x00")
            stats.control += len(block) - len(_CONTROL.sub("", block))
            stats.non_ascii += len(block) - len(block.encode("ascii", "ignore")) - replaced
            lengths = [len(line) for line in block.replace("\r", "\n").split("\n")]
            lengths[0] += run
            if max(lengths) > MAX_LINE_CHARS:
                raise LoadError(
                    f"a line of over {MAX_LINE_CHARS:,} characters:"
                    " minified or machine data, not prose"
                )
            run = lengths[-1]
    return stats


def _utf16_without_bom(sample: bytes) -> str | None:
    """ASCII-range UTF-16 has a NUL in every other byte, on one side only."""
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 4:
        return None
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / max(len(odd), 1)
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _legacy(sample: bytes) -> str:
    """A code page for text that is not UTF-8. Windows-1252 (what office machines write) when
    it decodes the sample into mostly-ASCII letters, as Western text is; otherwise (Cyrillic,
    Greek, CJK code pages: most letters beyond ASCII) charset-normalizer's guess."""
    from charset_normalizer import from_bytes

    text = sample.decode("cp1252", errors="replace")  # 5 byte values are undefined in 1252
    letters = [c for c in text if c.isalpha()]
    western = sum(not c.isascii() for c in letters) <= 0.3 * len(letters)
    if western and text.count("\ufffd") <= 0.01 * len(text):
        return "cp1252"
    best = from_bytes(sample).best()
    return codecs.lookup(best.encoding).name if best else "cp1252"


def detect_encoding(path: Path, ctx: ReadContext) -> str:
    """The file's encoding, checked over the whole file; see the module docstring."""
    sample = head(path, 1 << 16)
    try:
        encoding = next((name for bom, name in _BOMS if sample.startswith(bom)), None)
        encoding = encoding or _utf16_without_bom(sample)
        if encoding is None:
            stats = _scan(path, "utf-8")
            if stats.replaced == 0 or stats.non_ascii >= stats.replaced:
                encoding = "utf-8"
            else:
                encoding = _legacy(sample)
                stats = _scan(path, encoding)
        else:
            stats = _scan(path, encoding)
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    bad = stats.replaced + stats.control
    if bad > MAX_BAD_SHARE * stats.chars:
        if stats.control >= stats.replaced:
            raise LoadError("binary data, not text")
        raise LoadError(f"not decodable as text ({stats.replaced:,} bytes fit no encoding)")
    if not stats.visible or stats.nul == stats.chars:
        raise LoadError("empty file")
    if stats.replaced:
        ctx.warnings.append(f"replaced {stats.replaced:,} undecodable bytes ({encoding})")
    ctx.metadata["encoding"] = encoding
    return encoding


def _parts(path: Path, encoding: str) -> Iterator[str]:
    """The file's text in parts of about TEXT_PART_CHARS, each ending at a line end (at a blank
    line when there is one in its second half), so a 200 MB log never sits whole in memory."""
    buffer: list[str] = []
    size = 0
    with open(path, encoding=encoding, errors="replace", newline=None) as f:
        for line in f:
            buffer.append(line.replace("\x00", ""))
            size += len(line)
            if size < TEXT_PART_CHARS:
                continue
            cut = len(buffer)
            for i in range(len(buffer) - 1, len(buffer) // 2, -1):
                if not buffer[i].strip():
                    cut = i + 1
                    break
            yield "".join(buffer[:cut])
            buffer = buffer[cut:]
            size = sum(map(len, buffer))
    if buffer:
        yield "".join(buffer)


def read_text(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    """Plain text and Markdown, read in parts: the first part is read now (for the title),
    the rest as the caller iterates. Each part remembers its first line number."""
    encoding = detect_encoding(path, ctx)
    parts = _parts(path, encoding)
    first = clean(next(parts, ""))
    title = first.title or title_from_text(first.text)

    def sections() -> Iterator[Section]:
        found = False
        line = 1
        cleaned = first
        while True:
            if cleaned.text.strip():
                found = True
                yield Section(cleaned.text, timestamps=cleaned.timestamps, first_line=line)
            line += cleaned.text.count("\n")
            part = next(parts, None)
            if part is None:
                break
            cleaned = clean(part, front_matter=False)
        if not found:
            raise LoadError("no text")

    return title, sections()
