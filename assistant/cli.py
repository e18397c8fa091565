"""The `assistant` command: the composition root that ties core, ingest and UI together.

Exit codes scripts can trust: 0 success, 1 a failure the message explains (bad input, a
file that could not be ingested, a backend that is down), 2 wrong usage.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import sys
from collections.abc import Sequence
from functools import partial
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


def index_files(
    parts: Components, paths: Sequence[Path], collection: str | None = None, **options: Any
) -> Any:
    """`ingest_paths` with the chunking, limits and batch size from settings: the one way
    the CLI, first-start seeding and the web upload box index files."""
    from ingest.indexer import ingest_paths
    from ingest.loaders import Limits

    s = parts.settings
    return ingest_paths(
        paths,
        parts.store,
        chunk_size=s.chunk_size,
        chunk_overlap=s.chunk_overlap,
        max_file_bytes=int(s.max_file_mb * 2**20),
        limits=Limits.from_settings(s),
        batch=s.embed_batch,
        collection=collection,
        **options,
    )


def ensure_seeded(parts: Components) -> None:
    """Index the seed corpus into an empty default collection, so questions work at once."""
    s = parts.settings
    if not s.auto_seed or parts.store.count() > 0:
        return
    click.echo(f"Empty store: indexing the seed corpus from {s.seed_path()} ...", err=True)
    report = index_files(parts, [s.seed_path()])
    for failure in report.failed:
        click.echo(f"  skipped {failure.path}: {failure.reason}", err=True)
    click.echo(f"Indexed {report.counts['added']} documents, {report.chunks} chunks.", err=True)


def served_app(parts: Components, directory: Any, *, login: bool = True) -> Any:
    """The app `serve` runs: the web UI, the JSON and OpenAI-compatible APIs behind the
    login gate, with uploads indexed by `index_files` (ui/ and api/ never import ingest/)."""
    from api.app import create_app
    from api.gate import Gate
    from assistant.auth.history import History
    from assistant.auth.ratelimit import LoginLimiter
    from ui.uploads import Uploads

    s = parts.settings
    gate = Gate(
        directory if login else None,
        LoginLimiter(s.login_max_failures, s.login_window_s),
        session_hours=s.session_hours,
        trusted_header=s.trusted_user_header.lower(),
        trusted_proxies=tuple(s.trusted_proxies),
    )
    uploads = Uploads.from_settings(s, partial(index_files, parts))
    return create_app(
        parts.assistant,
        parts.store,
        gate,
        history=History(directory.db),
        uploads=uploads,
        upload_max_bytes=uploads.max_bytes,
        secure_cookie=s.secure_cookies,
    )


@click.group()
@click.version_option(package_name="onprem-assistant")
def cli() -> None:
    """A private assistant that answers from your own documents, on your own hardware."""


@cli.command()
@click.option("--host", help="Interface to bind; 0.0.0.0 serves the internal network.")
@click.option("--port", type=int, help="Port for the web UI.")
def serve(host: str | None, port: int | None) -> None:
    """Start the web chat, document uploads and the HTTP API (default http://127.0.0.1:7860).

    Login is on once a user exists (`assistant users add NAME --admin`); serving beyond
    this machine (e.g. --host 0.0.0.0) without any user is refused."""
    import uvicorn

    from assistant.auth import Database, Directory

    parts = Components(_settings(host=host, port=port))
    s = parts.settings
    directory = Directory(Database(s.database))
    login = directory.has_users()
    if not login and not _is_loopback(s.host):
        raise AssistantError(
            f"refusing to serve on {s.host} without login: anyone on the network could read"
            " and delete every document. Create an admin first (`assistant users add NAME"
            " --admin`), or serve on 127.0.0.1"
        )
    ensure_seeded(parts)
    app = served_app(parts, directory, login=login)
    mode = "login on" if login else "login off: no users, this machine only"
    click.echo(f"Serving on http://{s.host}:{s.port} (model {parts.model.name}; {mode})", err=True)
    # proxy_headers off: the gate alone decides whose X-Forwarded-For to believe
    # (`trusted_proxies`), instead of uvicorn trusting 127.0.0.1 behind our back.
    uvicorn.run(app, host=s.host, port=s.port, log_level="warning", proxy_headers=False)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
@click.option("--prune", is_flag=True, help="Also remove documents whose files are gone.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Make the collection hold exactly these files: every other document is removed, and"
    " a collection built with another embedder is re-embedded from scratch.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--watch",
    is_flag=True,
    help="Keep the collection matching the paths: re-sync (with --prune) as files are added,"
    " changed, renamed or removed, until Ctrl-C.",
)
def ingest(
    paths: tuple[Path, ...],
    collection: str | None,
    prune: bool,
    rebuild: bool,
    as_json: bool,
    watch: bool,
) -> None:
    """Make a collection match files and folders: new files added, changed ones replaced
    (each all-or-nothing), unchanged ones skipped by content hash, and with --prune deleted
    ones removed. A change of chunk size re-chunks every file on the next run.

    Exit code 0 when every file was read, 1 when any failed (each listed with its reason).
    """
    from ingest.indexer import count_files
    from ingest.progress import Progress

    parts = Components(_settings())
    if watch:
        _watch(parts, paths, collection)
        return
    if rebuild:
        name = collection or parts.settings.collection
        stats = parts.store.collection_stats()
        stale = [c for c in stats if c.name == name and c.documents is None]
        if stale:  # built with another embedder: its vectors answer nothing now
            click.echo(f"'{name}' was built with {stale[0].embedder}: re-embedding", err=True)
            parts.store.drop(name)
    with Progress.auto(count_files(paths), quiet=as_json) as progress:
        report = index_files(
            parts,
            paths,
            collection=collection,
            prune=prune,
            exact=rebuild,
            on_file=progress.on_file,
            on_chunks=progress.on_chunks,
        )
    if as_json:
        _print_json(report.to_dict())
    else:
        summary = ", ".join(f"{n} {status}" for status, n in report.counts.items())
        click.echo(f"{summary}; {report.chunks} chunks in {report.seconds:.1f}s")
    if report.failed:
        sys.exit(EXIT_FAILED)


def _watch(parts: Components, paths: Sequence[Path], collection: str | None) -> None:
    """`ingest --watch`: one line per file that changed, per pass (see ingest/watch.py)."""
    from ingest.watch import watch_paths

    def sync(prune: bool) -> Any:
        report = index_files(parts, paths, collection=collection, prune=prune)
        for r in report.results:
            if r.status != "unchanged":
                click.echo(f"{r.status:9} {r.path}" + (f": {r.reason}" if r.reason else ""))
        return report

    click.echo(f"watching {', '.join(map(str, paths))} (Ctrl-C stops)", err=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends watching, not an error
        watch_paths(paths, sync, say=lambda line: click.echo(line, err=True))


@cli.group(invoke_without_command=True)
@click.option("-c", "--collection", help="Collection to list (default: settings).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--repair", is_flag=True, help="Delete chunks no document owns (after a crash).")
@click.pass_context
def docs(ctx: click.Context, collection: str | None, as_json: bool, repair: bool) -> None:
    """List the indexed documents (`assistant docs rm SOURCE...` removes some)."""
    if ctx.invoked_subcommand is not None:
        return
    parts = Components(_settings())
    if repair:
        deleted = parts.store.repair(collection, full=True)
        click.echo(f"repair: deleted {deleted} orphaned chunks", err=True)
    documents = parts.store.documents(collection)
    if as_json:
        _print_json([d.__dict__ for d in documents])
        return
    for d in documents:
        click.echo(f"{d.chunks:5} chunks  {Path(d.source).name}  {d.title}")
    click.echo(f"{len(documents)} documents in '{collection or parts.settings.collection}'")


@docs.command("rm")
@click.argument("sources", nargs=-1, required=True)
@click.option("-c", "--collection", help="Collection to remove from (default: settings).")
def docs_rm(sources: tuple[str, ...], collection: str | None) -> None:
    """Remove documents by path (as `assistant docs --json` lists them; a relative path is
    taken from the current folder). Exit code 1 when one was not indexed."""
    parts = Components(_settings())
    stored = {d.source for d in parts.store.documents(collection)}
    wanted = [src if src in stored else str(Path(src).absolute()) for src in sources]
    missing = [src for src in wanted if src not in stored]
    removed = parts.store.remove([src for src in wanted if src in stored], collection)
    click.echo(f"removed {removed} document(s)")
    for src in missing:
        click.echo(f"not indexed: {src}", err=True)
    if missing:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def collections(as_json: bool) -> None:
    """List the collections with their documents and chunks (ask one with `ask -c NAME`)."""
    parts = Components(_settings())
    stats = parts.store.collection_stats()
    if as_json:
        _print_json([c.__dict__ for c in stats])
        return
    for c in stats:
        if c.documents is None:
            click.echo(f"{c.name}: built with embedder '{c.embedder}' (re-index to use it)")
        else:
            click.echo(f"{c.name}: {c.documents} documents, {c.chunks} chunks")
    if not stats:
        click.echo("no collections yet: `assistant ingest PATH...` creates one")


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


# Commands defined in their own modules (they need `cli` defined above).
from assistant.commands.doctor import doctor  # noqa: E402
from assistant.commands.models import models_group  # noqa: E402
from assistant.commands.users import add_to as add_user_commands  # noqa: E402
from assistant.evaluation.cli import eval_group  # noqa: E402

cli.add_command(eval_group)
cli.add_command(doctor)
cli.add_command(models_group)
add_user_commands(cli)  # users, groups, tokens


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
