"""`assistant doctor`: check the configured chain end to end; exit 1 if anything needs fixing."""

from __future__ import annotations

import json
import sys

import click

from assistant import offline
from assistant.settings import Settings


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(as_json: bool) -> None:
    """Check settings, data dir, store, embedder, collections and chat model; print the fix
    for each failed check. Exit code 0 when all pass, 1 when anything needs fixing."""
    from assistant.health import Doctor

    checks = Doctor(Settings.load()).run()
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
