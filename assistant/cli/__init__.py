"""The `assistant` command: the composition root, the one place that ties the core
(`assistant/`), ingestion (`ingest/`) and the web layer (`api/`, `ui/`) together.

One module per command group; `wiring` builds what several of them share (seeding,
indexing with the settings applied, the served app).

Exit codes scripts can trust: 0 success, 1 a failure the message explains (bad input, a
file that could not be ingested, a backend that is down), 2 wrong usage.
"""

from __future__ import annotations

import sys

import click

from assistant.cli import (
    ask,
    audit,
    config,
    conversations,
    docs,
    doctor,
    evaluate,
    feedback,
    models,
    serve,
    users,
)
from assistant.errors import AssistantError

EXIT_FAILED = 1


@click.group()
@click.version_option(package_name="onprem-assistant")
def cli() -> None:
    """A private assistant that answers from your own documents, on your own hardware."""


for command in (
    serve.serve,
    ask.ask,
    conversations.chat,
    conversations.history_group,
    docs.ingest,
    docs.docs,
    docs.collections,
    config.config,
    evaluate.eval_group,
    doctor.doctor,
    models.models_group,
    users.users,
    users.groups,
    users.tokens,
    audit.audit,
    feedback.feedback,
):
    cli.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AssistantError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        sys.exit(130)
