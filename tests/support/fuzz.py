"""How many examples a property or fuzz test draws: its usual count, times `FUZZ_SCALE`
(`just fuzz` sets 10, with fresh random examples; see `tests/conftest.py`)."""

from __future__ import annotations

import os


def examples(usual: int) -> int:
    return usual * max(1, int(os.environ.get("FUZZ_SCALE", "1")))
