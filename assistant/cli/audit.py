"""`assistant audit`: read, verify, export and purge the audit trail."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistant.cli.output import EXIT_FAILED, print_json
from assistant.errors import AssistantError
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.audit import Trail

_AGO = re.compile(r"^(\d+(?:\.\d+)?)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def trail() -> Trail:
    """The trail in the users database; readable even while recording is switched off."""
    from assistant.audit import Trail
    from assistant.auth import Database

    s = Settings.load()
    return Trail(Database(s.database), keep_texts=s.audit_texts)


def parse_since(value: str | None) -> datetime | None:
    """'7d', '12h', '30m' ago, or an ISO date/time (UTC)."""
    if not value:
        return None
    from assistant.auth.db import utcnow

    if m := _AGO.match(value.strip()):
        return utcnow() - timedelta(**{_UNITS[m[2]]: float(m[1])})
    try:
        parsed = datetime.fromisoformat(value.strip().removesuffix("Z"))
    except ValueError as exc:
        raise AssistantError(
            f"--since '{value}': give an age like 7d, 12h, 30m or a date like 2026-12-01"
        ) from exc
    return parsed.replace(tzinfo=None)


def _line(r: dict[str, Any]) -> str:
    where = f" from {r['address']}" if r["address"] else ""
    mark = "" if r["outcome"] == "ok" else f" [{r['outcome']}]"
    return f"{r['id']:>6}  {r['at'][:19]}  {r['actor']}{where}  {r['action']} {r['target']}{mark}"


@click.group(invoke_without_command=True)
@click.option("--user", help="Only records of this user (as signed in, or cli:NAME).")
@click.option("--since", help="Only records since an age (7d, 12h, 30m) or a date (UTC).")
@click.option("--action", help="Only this action or action prefix (login, ask, document...).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@click.pass_context
def audit(
    ctx: click.Context,
    user: str | None,
    since: str | None,
    action: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The audit trail, newest first: sign-ins, questions, documents, admin changes."""
    if ctx.invoked_subcommand is not None:
        return
    records = trail().query(user=user, action=action, since=parse_since(since), limit=limit)
    if as_json:
        print_json(records)
        return
    for r in records:
        click.echo(_line(r))
    if not records:
        on = Settings.load().audit
        click.echo("no matching records" + ("" if on else " (recording is off: ASSISTANT_AUDIT)"))


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def verify(as_json: bool) -> None:
    """Check the hash chain: exit 1 if a record was edited, inserted or deleted. Keep the
    printed head elsewhere: a later head that does not descend from it means the newest
    records were cut off."""
    verdict = trail().verify()
    if as_json:
        print_json(verdict.__dict__)
    elif verdict.ok:
        click.echo(f"ok: {verdict.records} records, the chain is intact; head {verdict.head}")
    else:
        click.echo(f"BROKEN after {verdict.records} good records: {verdict.problem}", err=True)
    if not verdict.ok:
        sys.exit(EXIT_FAILED)


@audit.command("export")
@click.argument("out", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--since", help="Only records since an age (7d, 12h) or a date (UTC).")
def export(out: Path, since: str | None) -> None:
    """Write the trail as JSON Lines to OUT ('-' for standard output), oldest first, for a
    SIEM; each line carries its hash and the previous one, so the chain can be checked
    there too."""
    cutoff = parse_since(since)
    cutoff_iso = cutoff.isoformat(timespec="microseconds") if cutoff else ""
    from assistant.audit.trail import record_dict

    stream = sys.stdout if str(out) == "-" else out.open("w", encoding="utf-8")
    count = 0
    try:
        for r in trail().all():
            row = record_dict(r)
            if row["at"] >= cutoff_iso:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    finally:
        if stream is not sys.stdout:
            stream.close()
    if str(out) != "-":
        click.echo(f"exported {count} records to {out}", err=True)


@audit.command("purge")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), help="Default: setting.")
def purge(days: float | None) -> None:
    """Delete records older than the retention (audit_retention_days, or --days); the
    purge itself is recorded, so `audit verify` still passes."""
    keep = days or Settings.load().audit_retention_days
    if not keep:
        raise AssistantError("no retention: set ASSISTANT_AUDIT_RETENTION_DAYS or give --days")
    removed = trail().purge(keep)
    click.echo(f"removed {removed} records older than {keep:g} days")
