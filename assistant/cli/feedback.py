"""`assistant feedback`: the votes people gave answers, newest first, to review and to turn
into regression cases (`assistant eval add SUITE --from-feedback ID`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from assistant.cli.output import print_json
from assistant.errors import AssistantError
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.feedback import FeedbackLog


def feedback_log() -> FeedbackLog:
    from assistant.auth import Database  # SQLAlchemy: only for these commands
    from assistant.feedback import FeedbackLog

    return FeedbackLog(Database(Settings.load().database))


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise AssistantError(f"--since '{value}': use a date like 2026-12-01") from None


@click.command("feedback")
@click.option("--down", "vote", flag_value="down", help="Only down-voted answers.")
@click.option("--up", "vote", flag_value="up", help="Only up-voted answers.")
@click.option("-c", "--collection", help="Only answers from this collection.")
@click.option("--since", help="Only feedback given since this date (YYYY-MM-DD[THH:MM]).")
@click.option("--json", "as_json", is_flag=True, help="Print the feedback as JSON.")
def feedback(vote: str | None, collection: str | None, since: str | None, as_json: bool) -> None:
    """List feedback on answers (everyone's: this runs on the server)."""
    found = feedback_log().list(vote=vote, collection=collection, since=_since(since))  # type: ignore[arg-type]
    if as_json:
        print_json([f.to_dict() for f in found])
        return
    if not found:
        click.echo("no feedback")
    for f in found:
        mark = "+" if f.vote == "up" else "-"
        click.echo(f"{f.id:>5} {mark} {f.time} {f.user} [{f.collection}] {f.question}")
        if f.comment:
            click.echo(f"        comment: {' '.join(f.comment.split())}")
