"""Where things are: the repository, the seed corpus, the shipped eval suite, the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
SEEDS = ROOT / "seeds"
SEED_SUITE = TESTS / "eval" / "seed_suite.yaml"
ASSISTANT = str(Path(sys.executable).with_name("assistant"))  # the installed entry point


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings that ignore the developer's own config file and environment. The answer
    style is the model's own (`generated`), which most tests exercise; the packaged model's
    default (`quoted`, no model call) is tested where a test asks for it."""
    overrides = {"answer_style": "generated", **overrides}
    # The overrides are Settings fields by name; pydantic checks them at run time.
    return Settings(data_dir=data_dir, seed_dir=SEEDS, **overrides)  # type: ignore[arg-type]
