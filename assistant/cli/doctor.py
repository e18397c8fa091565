"""`assistant doctor`: check the configured chain end to end; exit 1 if anything needs fixing."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from assistant import offline
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.health import Check


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(as_json: bool) -> None:
    """Check settings, data dir, store, embedder, collections and chat model; print the fix
    for each failed check. Exit code 0 when all pass, 1 when anything needs fixing."""
    from assistant.health import Doctor

    settings = Settings.load()
    checks = [*Doctor(settings).run(), ocr_check(settings.ocr_languages)]
    healthy = all(c.ok for c in checks)
    if as_json:
        report = {
            "ok": healthy,
            "checks": [c.to_dict() for c in checks],
            "offline_env": offline.OFFLINE_ENV,
        }
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            click.echo(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}")
            if not c.ok:
                click.echo(f"      {'':<{width}}  fix: {c.fix}")
        click.echo("all checks passed" if healthy else "some checks failed: see `fix:` above")
    if not healthy:
        sys.exit(1)


def ocr_check(languages: str) -> Check:
    """Tesseract reads scanned pages and images. Without it everything else works and such
    files are refused with the package to install, so its absence is reported, not failed."""
    from assistant.health import Check
    from ingest.loaders.ocr import engine_problem

    problem = engine_problem(languages)
    if problem is None:
        return Check("ocr", True, f"Tesseract with {languages}: scans and images are read")
    return Check("ocr", True, f"{problem}: scanned pages and images are refused until then")
