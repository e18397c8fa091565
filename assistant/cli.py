"""The `assistant` command: the composition root that ties core, ingest and UI together.

Exit codes scripts can trust: 0 success, 1 a failure the message explains (bad input, a
file that could not be ingested, a backend that is down), 2 wrong usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from assistant import offline
from assistant.errors import AssistantError
from assistant.factory import Components
from assistant.settings import Settings, config_file

EXIT_FAILED = 1


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:  # pydantic's ValidationError: name the bad setting
        raise AssistantError(f"invalid settings: {exc}".replace("\n", "; ")) from exc


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def ensure_seeded(parts: Components) -> None:
    """Index the seed corpus into an empty default collection, so questions work at once."""
    s = parts.settings
    if not s.auto_seed or parts.store.count() > 0:
        return
    from ingest.indexer import ingest_paths

    click.echo(f"Empty store: indexing the seed corpus from {s.seed_path()} ...", err=True)
    report = ingest_paths(
        [s.seed_path()], parts.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap
    )
    for failure in report.failed:
        click.echo(f"  skipped {failure.path}: {failure.reason}", err=True)
    click.echo(f"Indexed {report.counts['added']} documents, {report.chunks} chunks.", err=True)


@click.group()
@click.version_option(package_name="onprem-assistant")
def cli() -> None:
    """A private assistant that answers from your own documents, on your own hardware."""


@cli.command()
@click.option("--host", help="Interface to bind; 0.0.0.0 serves the internal network.")
@click.option("--port", type=int, help="Port for the web UI.")
def serve(host: str | None, port: int | None) -> None:
    """Start the web chat (default http://127.0.0.1:7860)."""
    from ui.app import build_app
    from ui.app import serve as serve_app

    parts = Components(_settings(host=host, port=port))
    ensure_seeded(parts)
    app = build_app(parts.assistant, parts.store)
    s = parts.settings
    click.echo(f"Serving on http://{s.host}:{s.port} (model {parts.model.name})", err=True)
    serve_app(app, host=s.host, port=s.port)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print answer, sources and timings as JSON.")
@click.option("-c", "--collection", help="Collection to ask (default: settings).")
@click.option("-k", "top_k", type=click.IntRange(1, 50), help="How many sources to retrieve.")
def ask(question: str, as_json: bool, collection: str | None, top_k: int | None) -> None:
    """Answer QUESTION from the documents, streaming to the terminal."""
    if not question.strip():
        raise AssistantError("the question is empty")
    parts = Components(_settings())
    ensure_seeded(parts)
    stream = parts.assistant.ask(question, collection=collection, k=top_k)
    if as_json:
        _print_json(stream.result().to_dict())
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


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-c", "--collection", help="Collection to write (default: settings).")
@click.option("--rebuild", is_flag=True, help="Drop the collection first and index anew.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest(paths: tuple[Path, ...], collection: str | None, rebuild: bool, as_json: bool) -> None:
    """Index files and folders: new files added, changed ones replaced, the rest skipped."""
    from ingest.indexer import FileResult, ingest_paths

    parts = Components(_settings())
    s = parts.settings
    if rebuild:
        parts.store.drop(collection)

    def progress(result: FileResult) -> None:
        if not as_json:
            detail = result.reason or (f"{result.chunks} chunks" if result.chunks else "")
            click.echo(f"{result.status:9} {result.path}" + (f": {detail}" if detail else ""))

    report = ingest_paths(
        paths,
        parts.store,
        chunk_size=s.chunk_size,
        chunk_overlap=s.chunk_overlap,
        collection=collection,
        on_file=progress,
    )
    if as_json:
        _print_json(report.to_dict())
    else:
        summary = ", ".join(f"{n} {status}" for status, n in report.counts.items())
        click.echo(f"{summary}; {report.chunks} chunks in {report.seconds:.1f}s")
    if report.failed:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.option("-c", "--collection", help="Collection to list (default: settings).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def docs(collection: str | None, as_json: bool) -> None:
    """List the indexed documents."""
    parts = Components(_settings())
    documents = parts.store.documents(collection)
    if as_json:
        _print_json([d.__dict__ for d in documents])
        return
    for d in documents:
        click.echo(f"{d.chunks:5} chunks  {Path(d.source).name}  {d.title}")
    click.echo(f"{len(documents)} documents in '{collection or parts.settings.collection}'")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def config(as_json: bool) -> None:
    """Print the effective settings and where they come from."""
    s = _settings()
    values = s.model_dump(mode="json")
    values["seed_dir"] = str(s.seed_path())
    if as_json:
        _print_json(
            {
                "settings": values,
                "config_file": str(config_file()),
                "offline_env": offline.OFFLINE_ENV,
            }
        )
        return
    source = config_file()
    click.echo(f"# config file: {source}{'' if source.is_file() else ' (absent)'}")
    click.echo("# override any value with ASSISTANT_<NAME> in the environment")
    for name, value in values.items():
        click.echo(f"{name} = {json.dumps(value)}")


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
