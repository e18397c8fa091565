"""`assistant ingest`, `docs` and `collections`: what is in the store, and syncing files into it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assistant.cli.output import EXIT_FAILED, print_json
from assistant.cli.wiring import index_files, refresh_keyword_indexes
from assistant.factory import Components
from assistant.settings import Settings

if TYPE_CHECKING:
    from ingest.indexer import IngestReport


@click.command()
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

    parts = Components(Settings.load())
    if watch:
        refresh_keyword_indexes(parts)
        _watch(parts, paths, collection)
        return
    if rebuild:
        name = collection or parts.settings.collection
        stats = parts.store.collection_stats()
        stale = [c for c in stats if c.name == name and c.documents is None]
        if stale:  # built with another embedder: its vectors answer nothing now
            click.echo(f"'{name}' was built with {stale[0].embedder}: re-embedding", err=True)
            parts.store.drop(name)
    refresh_keyword_indexes(parts)  # an earlier version's: rebuilt first, and said so
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
        print_json(report.to_dict())
    else:
        summary = ", ".join(f"{n} {status}" for status, n in report.counts.items())
        click.echo(
            f"{summary}; {report.chunks} chunks in {report.seconds:.1f}s"
            f" ({report.embed_seconds:.1f}s embedding)"
        )
    if report.failed:
        sys.exit(EXIT_FAILED)


def _watch(parts: Components, paths: Sequence[Path], collection: str | None) -> None:
    """`ingest --watch`: one line per file that changed, per pass (see ingest/watch.py)."""
    from ingest.watch import watch_paths

    def sync(prune: bool) -> IngestReport:
        report = index_files(parts, paths, collection=collection, prune=prune)
        for r in report.results:
            if r.status != "unchanged":
                click.echo(f"{r.status:9} {r.path}" + (f": {r.reason}" if r.reason else ""))
        return report

    click.echo(f"watching {', '.join(map(str, paths))} (Ctrl-C stops)", err=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends watching, not an error
        watch_paths(paths, sync, say=lambda line: click.echo(line, err=True))


@click.group(invoke_without_command=True)
@click.option("-c", "--collection", help="Collection to list (default: settings).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--repair", is_flag=True, help="Delete chunks no document owns (after a crash).")
@click.pass_context
def docs(ctx: click.Context, collection: str | None, as_json: bool, repair: bool) -> None:
    """List the indexed documents (`assistant docs rm SOURCE...` removes some)."""
    if ctx.invoked_subcommand is not None:
        return
    parts = Components(Settings.load())
    if repair:
        deleted = parts.store.repair(collection, full=True)
        click.echo(f"repair: deleted {deleted} orphaned chunks", err=True)
    documents = parts.store.documents(collection)
    if as_json:
        print_json([d.__dict__ for d in documents])
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
    parts = Components(Settings.load())
    stored = {d.source for d in parts.store.documents(collection)}
    wanted = [src if src in stored else str(Path(src).absolute()) for src in sources]
    missing = [src for src in wanted if src not in stored]
    removed = parts.store.remove([src for src in wanted if src in stored], collection)
    click.echo(f"removed {removed} document(s)")
    for src in missing:
        click.echo(f"not indexed: {src}", err=True)
    if missing:
        sys.exit(EXIT_FAILED)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def collections(as_json: bool) -> None:
    """List the collections with their documents and chunks (ask one with `ask -c NAME`)."""
    parts = Components(Settings.load())
    stats = parts.store.collection_stats()
    if as_json:
        print_json([c.__dict__ for c in stats])
        return
    for c in stats:
        if c.documents is None:
            click.echo(f"{c.name}: built with embedder '{c.embedder}' (re-index to use it)")
        else:
            click.echo(f"{c.name}: {c.documents} documents, {c.chunks} chunks")
    if not stats:
        click.echo("no collections yet: `assistant ingest PATH...` creates one")
