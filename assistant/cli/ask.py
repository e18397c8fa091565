"""`assistant ask`: one question from the terminal or a script."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.cli.output import print_json
from assistant.cli.wiring import ensure_seeded
from assistant.errors import AssistantError
from assistant.factory import Components
from assistant.settings import Settings


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print answer, sources and timings as JSON.")
@click.option("-c", "--collection", help="Collection to ask (default: settings).")
@click.option("-k", "top_k", type=click.IntRange(1, 50), help="How many sources to retrieve.")
def ask(question: str, as_json: bool, collection: str | None, top_k: int | None) -> None:
    """Answer QUESTION from the documents, streaming to the terminal."""
    if not question.strip():
        raise AssistantError("the question is empty")
    parts = Components(Settings.load())
    ensure_seeded(parts)
    stream = parts.assistant.ask(question, collection=collection, k=top_k)
    if as_json:
        print_json(stream.result().to_dict())
        return
    for piece in stream:
        click.echo(piece, nl=False)
    click.echo()
    answer = stream.result()
    if answer.sources:
        click.echo("\nSources:")
        for src in answer.sources:
            mark = "*" if src.cited else " "
            click.echo(f" {mark}[{src.number}] {Path(src.source).name} ({src.anchor})")
