"""How commands print: JSON for scripts, and the exit code of a failure the output explains."""

from __future__ import annotations

import json
from typing import Any

import click

EXIT_FAILED = 1


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
