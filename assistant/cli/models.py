"""`assistant models import`: register a local GGUF with the configured Ollama server."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistant.settings import Settings


@click.group("models")
def models_group() -> None:
    """Models on the Ollama server (ASSISTANT_OLLAMA_HOST)."""


@models_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--name", required=True, help="Model name on Ollama, e.g. llama3.1-8b-local.")
@click.option(
    "--template",
    "template_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="An Ollama Go template file, for a GGUF whose chat template is not a known family.",
)
@click.option("--stop", multiple=True, help="A stop sequence (repeatable); default: the family's.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_model(
    path: Path, name: str, template_file: Path | None, stop: tuple[str, ...], as_json: bool
) -> None:
    """Upload the GGUF file PATH to Ollama and create model NAME from it, with the chat
    template and stop sequences of its family (Llama 3, Llama 2, ChatML). Nothing is pulled:
    this works on an air-gapped host. Use it with ASSISTANT_OLLAMA_MODEL=NAME."""
    from assistant.llm.ollama_import import import_gguf

    settings = Settings.load()
    done = import_gguf(settings, path, name, template_file=template_file, stop=stop)
    if as_json:
        click.echo(json.dumps(done.__dict__, indent=2))
        return
    click.echo(
        f"created '{done.name}' on {settings.ollama_host} from {path.name} ({done.digest[:19]}…,"
        f" {done.family} template); use it with ASSISTANT_OLLAMA_MODEL={done.name}"
    )
