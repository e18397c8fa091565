"""Keep Python's SIGINT/SIGTERM handlers when a native library installs its own.

llama.cpp's server engine (xllamacpp) installs handlers for SIGINT and SIGTERM when it
starts, meant for its own command-line server: Ctrl+C or `systemctl stop` would then stop
the model but leave our web server running. The handlers in force before are saved and put
back with libc's `sigaction`, which (unlike `signal.signal`) works from any thread: the
model may be loaded by the first request, off the main thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SIGACTION_SIZE = 256  # larger than any libc's struct sigaction; kept opaque


@contextmanager
def keep_python_signal_handlers() -> Iterator[None]:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    saved = {}
    for sig in SIGNALS:
        buf = ctypes.create_string_buffer(_SIGACTION_SIZE)
        if libc.sigaction(int(sig), None, buf) == 0:
            saved[sig] = buf
    try:
        yield
    finally:
        for sig, buf in saved.items():
            libc.sigaction(int(sig), buf, None)
