"""`assistant ask`: one question from the terminal or a script."""

from __future__ import annotations

import click

from assistant.cli.conversations import load_memory, open_history, print_sources, stream_out
from assistant.cli.output import print_json
from assistant.cli.wiring import ensure_seeded
from assistant.conversation import Turn
from assistant.errors import AssistantError
from assistant.factory import Components
from assistant.settings import Settings


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print answer, sources and timings as JSON.")
@click.option("-c", "--collection", help="Collection to ask (default: settings).")
@click.option("-k", "top_k", type=click.IntRange(1, 50), help="How many sources to retrieve.")
@click.option(
    "--conversation",
    metavar="ID|new",
    help="Ask as a follow-up in this stored conversation (`new` starts one); its id is"
    " printed on standard error (in --json: the `conversation` field).",
)
@click.option("--user", help="Whose conversation (default: the local user).")
def ask(
    question: str,
    as_json: bool,
    collection: str | None,
    top_k: int | None,
    conversation: str | None,
    user: str | None,
) -> None:
    """Answer QUESTION from the documents, streaming to the terminal."""
    if not question.strip():
        raise AssistantError("the question is empty")
    settings = Settings.load()
    memory: list[Turn] = []
    if conversation:
        history, who = open_history(settings, user)
        if conversation != "new":
            memory = load_memory(history, who, conversation)
    parts = Components(settings)
    ensure_seeded(parts)
    stream = parts.assistant.ask(question, collection=collection, k=top_k, history=memory)
    answer = stream.result() if as_json else stream_out(stream)
    stored = None
    if conversation:
        stored = history.record(who, answer, None if conversation == "new" else conversation)
    if as_json:
        print_json({**answer.to_dict(), **({"conversation": stored} if stored else {})})
        return
    print_sources(answer)
    if stored:
        click.echo(f"conversation {stored}", err=True)
