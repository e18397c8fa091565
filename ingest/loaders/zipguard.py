"""Zip bombs: DOCX, XLSX, PPTX and OpenDocument files are zip archives, and their parsers
read parts whole (python-docx reads every part into memory). The size limit applies to the
compressed file, so before any parser runs, the sizes the archive declares are checked:
the total inflated size and the ratio to the compressed size. Python's zipfile never
inflates a member beyond its declared size, so a lying header cannot get past this."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from ingest.loaders.base import Limits, LoadError, human_bytes, os_reason, short

# What parsers of a damaged zip-based file raise: a bad zip, a broken deflate stream, XML
# that does not parse (lxml's and ElementTree's errors are SyntaxErrors), a missing part.
DAMAGE: tuple[type[Exception], ...] = (
    *(zipfile.BadZipFile, zlib.error, EOFError, SyntaxError, KeyError, ValueError),
    *(TypeError, IndexError, AttributeError),  # what the libraries raise on broken parts
)
_ENCRYPTED = 0x1  # a member's general purpose flag bit 0
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
MAX_MEMBERS = 100_000  # an office file has dozens of parts; a million is an attack
_RATIO_FROM = 1 << 20  # below 1 MB inflated, any ratio is harmless


def check_zip(path: Path, limits: Limits, kind: str) -> None:
    """Raise a one-line LoadError for a zip that is corrupt or would inflate too far."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise LoadError(f"corrupt {kind} (not a zip archive: {short(exc)})") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    except (ValueError, EOFError, NotImplementedError) as exc:
        raise LoadError(f"corrupt {kind} ({short(exc)})") from exc
    if len(members) > MAX_MEMBERS:
        raise LoadError(f"{kind} has {len(members):,} parts, over {MAX_MEMBERS:,}: a zip bomb?")
    for member in members:  # what zipfile would refuse only when a parser opens the part
        if member.flag_bits & _ENCRYPTED:
            raise LoadError(f"password-protected {kind} ({member.filename} is encrypted)")
        if member.compress_type not in _METHODS:
            raise LoadError(
                f"corrupt {kind} ({member.filename}: unknown compression method"
                f" {member.compress_type})"
            )
    inflated = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if inflated > limits.max_unzipped_bytes:
        raise LoadError(
            f"expands to {human_bytes(inflated)}, over the"
            f" {human_bytes(limits.max_unzipped_bytes)} limit (a zip bomb?)"
        )
    ratio = inflated / max(packed, 1)
    if inflated > _RATIO_FROM and ratio > limits.max_zip_ratio:
        raise LoadError(
            f"compressed {ratio:,.0f}:1, over the {limits.max_zip_ratio:,.0f}:1 limit"
            f" (expands to {human_bytes(inflated)}: a zip bomb?)"
        )
