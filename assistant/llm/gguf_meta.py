"""Read string metadata (e.g. `tokenizer.chat_template`) from a GGUF file's header.

A small reader of the documented GGUF layout (magic, version, counts, then typed key/value
pairs) instead of loading the file with llama.cpp: it needs no model load, reads only the
header, and works on any GGUF, including ones llama.cpp's build here cannot load.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from assistant.errors import AssistantError

MAGIC = b"GGUF"
STRING, ARRAY = 8, 9
# Fixed sizes of the scalar value types, by GGUF type id.
SCALAR_SIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _u32(f: BinaryIO) -> int:
    return int(struct.unpack("<I", _exact(f, 4))[0])


def _u64(f: BinaryIO) -> int:
    return int(struct.unpack("<Q", _exact(f, 8))[0])


def _exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError
    return data


def _string(f: BinaryIO) -> bytes:
    return _exact(f, _u64(f))


def _skip(f: BinaryIO, kind: int) -> None:
    if kind == STRING:
        f.seek(_u64(f), 1)
    elif kind == ARRAY:
        item, count = _u32(f), _u64(f)
        if item in SCALAR_SIZE:
            f.seek(SCALAR_SIZE[item] * count, 1)
        else:
            for _ in range(count):
                _skip(f, item)
    elif kind in SCALAR_SIZE:
        f.seek(SCALAR_SIZE[kind], 1)
    else:
        raise ValueError(f"unknown value type {kind}")


# Integer scalar types, by GGUF type id: struct format.
INTEGER = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 10: "<Q", 11: "<q"}


def _value(f: BinaryIO, kind: int) -> str | int | None:
    """A string or integer value; None (skipped) for any other type."""
    if kind == STRING:
        return _string(f).decode("utf-8", "replace")
    if kind in INTEGER:
        fmt = INTEGER[kind]
        return int(struct.unpack(fmt, _exact(f, struct.calcsize(fmt)))[0])
    _skip(f, kind)
    return None


def read_strings(path: Path, keys: set[str]) -> dict[str, str]:
    """The string values of `keys` that the file's metadata has."""
    return {k: v for k, v in read_values(path, keys).items() if isinstance(v, str)}


def read_values(path: Path, keys: set[str]) -> dict[str, str | int]:
    """The string and integer values of `keys` that the file's metadata has."""
    found: dict[str, str | int] = {}
    try:
        with path.open("rb") as f:
            if f.read(4) != MAGIC:
                raise AssistantError(f"{path}: not a GGUF file")
            version = _u32(f)
            if version < 2:
                raise AssistantError(f"{path}: GGUF version {version} is too old")
            _u64(f)  # tensor count
            for _ in range(_u64(f)):
                key, kind = _string(f).decode("utf-8", "replace"), _u32(f)
                if key not in keys:
                    _skip(f, kind)
                elif (value := _value(f, kind)) is not None:
                    found[key] = value
                    if len(found) == len(keys):
                        break
    except FileNotFoundError as exc:
        raise AssistantError(f"{path}: file not found") from exc
    except OSError as exc:
        raise AssistantError(f"{path}: cannot read ({exc.strerror})") from exc
    except (EOFError, ValueError, struct.error) as exc:
        raise AssistantError(f"{path}: corrupt GGUF header") from exc
    return found
