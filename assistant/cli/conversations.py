"""`assistant chat` (a terminal chat that keeps its thread) and `assistant history` (list,
show, export, rename, delete stored conversations).

Both keep conversations in the history database (`database_url`) under the local user
`local` by default, the same one the web UI and API use with login off; `--user NAME`
reads or continues a named user's (whoever can run this command can read that database
anyway). `assistant ask --conversation ID` continues one from a script.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistant.answering import Answer, AnswerStream
from assistant.cli.output import print_json
from assistant.cli.wiring import ensure_seeded
from assistant.conversation import Turn
from assistant.errors import AssistantError
from assistant.factory import Components
from assistant.settings import Settings
from assistant.transcript import FORMATS, render

if TYPE_CHECKING:
    from assistant.auth import Principal
    from assistant.history import History

COMMANDS = "/new starts afresh, /sources shows the last answer's sources, /quit leaves"


def open_history(settings: Settings, user: str | None) -> tuple[History, Principal]:
    """The history database and whose conversations to use (default: the local user)."""
    from assistant.auth import LOCAL, Database, Directory
    from assistant.history import History

    db = Database(settings.database)
    if not user:
        return History(db), LOCAL
    found = Directory(db).principal(user)
    if found is None:
        raise AssistantError(f"no user '{user}' (see `assistant users list`)")
    return History(db), found


def load_memory(history: History, who: Principal, conversation: str) -> list[Turn]:
    found = history.memory(who, conversation)
    if found is None:
        raise AssistantError(f"no conversation '{conversation}' (see `assistant history`)")
    return found


def print_sources(answer: Answer, snippets: bool = False) -> None:
    """The sentences no source supports (with the reason), then the sources."""
    for claim in answer.unsupported:
        said = " ".join(claim.text.split())
        click.echo(f"  ⚠ not supported: {said} ({'; '.join(claim.reasons)})")
    if not answer.sources:
        return
    click.echo("\nSources:")
    for src in answer.sources:
        mark = "*" if src.cited else " "
        name = Path(src.source).name
        title = f" “{src.title}”" if src.title and src.title != Path(src.source).stem else ""
        click.echo(f" {mark}[{src.number}] {name}{title} ({src.anchor})")
        if snippets:
            click.echo(f"      {src.snippet}")


def stream_out(stream: AnswerStream) -> Answer:
    for piece in stream:
        click.echo(piece, nl=False)
    click.echo()
    return stream.result()


def _readline(settings: Settings) -> None:
    """Arrow keys and a history of typed lines across sessions, where readline exists."""
    try:
        import readline
    except ImportError:  # not on every platform; the chat works without it
        return
    path = settings.data_dir / "chat_history"
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if path.exists():
            readline.read_history_file(path)
    except OSError:
        return
    import atexit

    readline.set_history_length(1000)
    atexit.register(readline.write_history_file, path)


@click.command()
@click.option("-c", "--collection", help="Collection to ask (default: settings).")
@click.option("--conversation", help="Continue this stored conversation.")
@click.option("--user", help="Whose conversations (default: the local user).")
def chat(collection: str | None, conversation: str | None, user: str | None) -> None:
    """A chat in the terminal: follow-up questions keep the thread, answers stream, the
    sources follow each answer. Every turn is stored (`assistant history`)."""
    settings = Settings.load()
    history, who = open_history(settings, user)
    memory = load_memory(history, who, conversation) if conversation else []
    parts = Components(settings)
    ensure_seeded(parts)
    interactive = sys.stdin.isatty()
    if interactive:
        _readline(settings)
        click.echo(f"Ask about the documents ({parts.model.name}). {COMMANDS}.", err=True)
    last: Answer | None = None
    while True:
        try:
            line = input("> " if interactive else "").strip()
        except EOFError:
            break
        if line in ("/quit", "/exit"):
            break
        if line == "/new":
            memory, conversation, last = [], None, None
            click.echo("(new conversation)", err=True)
        elif line == "/sources":
            if last is not None:
                print_sources(last, snippets=True)
        elif line.startswith("/"):
            click.echo(f"unknown command {line}: {COMMANDS}", err=True)
        elif line:
            stream = parts.assistant.ask(line, collection=collection, history=tuple(memory))
            last = stream_out(stream)
            print_sources(last)
            conversation = history.record(who, last, conversation)
            memory.append(Turn.from_dict(last.to_dict()))
    if conversation:
        click.echo(f"conversation {conversation}", err=True)


@click.group("history", invoke_without_command=True)
@click.option("--user", help="Whose conversations (default: the local user).")
@click.pass_context
def history_group(ctx: click.Context, user: str | None) -> None:
    """Stored conversations: list them (the default), show, export, rename, delete."""
    ctx.obj = open_history(Settings.load(), user)
    if ctx.invoked_subcommand is None:
        history, who = ctx.obj
        for c in history.list(who):
            click.echo(f"{c.id}  {c.updated_at}  {c.turns:>3} turns  {c.title}")


def _found(ctx: click.Context, conversation: str) -> dict[str, Any]:
    history, who = ctx.obj
    found: dict[str, Any] | None = history.get(who, conversation)
    if found is None:
        raise AssistantError(f"no conversation '{conversation}' (see `assistant history`)")
    return found


@history_group.command("show")
@click.argument("conversation")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@click.pass_context
def show(ctx: click.Context, conversation: str, as_json: bool) -> None:
    """Print a conversation (Markdown, or JSON)."""
    found = _found(ctx, conversation)
    if as_json:
        print_json(found)
    else:
        click.echo(render(found, "md"), nl=False)


@history_group.command("export")
@click.argument("conversation")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File.")
@click.pass_context
def export(ctx: click.Context, conversation: str, fmt: str, output: Path | None) -> None:
    """Export a conversation as Markdown or JSON, to a file or standard output."""
    text = render(_found(ctx, conversation), fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AssistantError(f"{output}: cannot write the export ({exc.strerror})") from exc
    click.echo(f"wrote {output}", err=True)


@history_group.command("rename")
@click.argument("conversation")
@click.argument("title")
@click.pass_context
def rename(ctx: click.Context, conversation: str, title: str) -> None:
    """Give a conversation a new title."""
    history, who = ctx.obj
    if not title.strip():
        raise AssistantError("the title is empty")
    if not history.rename(who, conversation, title):
        raise AssistantError(f"no conversation '{conversation}' (see `assistant history`)")


@history_group.command("rm")
@click.argument("conversations", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, conversations: tuple[str, ...]) -> None:
    """Delete conversations."""
    history, who = ctx.obj
    missing = [c for c in conversations if not history.delete(who, c)]
    if missing:
        raise AssistantError(f"no conversation {', '.join(repr(c) for c in missing)}")
