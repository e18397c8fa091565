"""`assistant ARGS` as a user or a script runs it: a real process with real exit codes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from support.paths import ASSISTANT, SEEDS


def clean_env(data_dir: Path, **env: str) -> dict[str, str]:
    """This process's environment less every ASSISTANT_ variable, plus its own data dir and
    no developer config file; `env` on top."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environ.update(
        ASSISTANT_DATA_DIR=str(data_dir),
        ASSISTANT_SEED_DIR=str(SEEDS),
        ASSISTANT_CONFIG=str(data_dir / "absent.toml"),
    )
    environ.update(env)
    return environ


def run(
    args: list[str], data_dir: Path, timeout: float = 600, input: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`assistant ARGS` in a clean environment: its own data dir, no developer config."""
    return subprocess.run(
        [ASSISTANT, *args],
        capture_output=True,
        text=True,
        env=clean_env(data_dir, **env),
        timeout=timeout,
        input=input,
    )


def run_cli(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`run` with room for a whole eval suite, which takes minutes."""
    return run(args, data_dir, timeout=900, **env)
