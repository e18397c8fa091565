"""Building what several commands share, from settings: indexing with the configured
chunking and limits, seeding an empty store, and the app `serve` runs. The only module
that hands `ingest/` to the web layer (ui/ and api/ never import ingest/); `bench/` and
the tests use it too, so they exercise exactly what ships."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistant.errors import AssistantError
from assistant.factory import Components

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from assistant.auth import Directory
    from ingest.indexer import IngestReport


def index_files(
    parts: Components, paths: Sequence[Path], collection: str | None = None, **options: Any
) -> IngestReport:
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
    """Index the seed corpus into an empty default collection, so questions work at once;
    and rebuild any keyword index an earlier version made (`refresh_keyword_indexes`)."""
    s = parts.settings
    refresh_keyword_indexes(parts)
    if not s.auto_seed or parts.store.count() > 0:
        return
    click.echo(f"Empty store: indexing the seed corpus from {s.seed_path()} ...", err=True)
    report = index_files(parts, [s.seed_path()])
    for failure in report.failed:
        click.echo(f"  skipped {failure.path}: {failure.reason}", err=True)
    click.echo(f"Indexed {report.counts['added']} documents, {report.chunks} chunks.", err=True)


def warm(parts: Components) -> None:
    """Load every collection a question could search (`Retriever.warm`) before serving,
    saying how long it took. A failure (an embedder or Chroma server not up yet) is a
    warning, not a refusal to start: the first question then loads what it needs."""
    names = [c.name for c in parts.store.collection_stats() if c.chunks]
    if not names:
        return
    try:
        seconds = parts.retriever.warm(names)
    except AssistantError as exc:
        click.echo(f"warning: the collections were not loaded before serving: {exc}", err=True)
        return
    click.echo(f"Loaded {len(names)} collection(s) for questions in {seconds:.1f} s", err=True)


def refresh_keyword_indexes(parts: Components) -> None:
    """Rebuild each keyword index whose terms an earlier version made (or that is missing),
    saying so: the first question or ingest after an upgrade would otherwise wait for it
    without a word (~40 s at 100k chunks)."""
    store = parts.store
    for name in store.collections():
        if store.keywords.ready(name):
            continue
        click.echo(f"Keyword index of '{name}': rebuilding it from its chunks ...", err=True)
        started = time.monotonic()
        store.refresh_keywords(name)
        click.echo(f"  rebuilt in {time.monotonic() - started:.1f} s", err=True)


def served_app(parts: Components, directory: Directory, *, login: bool = True) -> FastAPI:
    """The app `serve` runs: the web UI, the JSON and OpenAI-compatible APIs behind the
    login gate, with uploads indexed by `index_files`."""
    from api.app import create_app
    from api.gate import Gate
    from assistant.admission import Admission
    from assistant.cli.sandbox import ingest_uploads
    from assistant.feedback import FeedbackLog
    from assistant.history import History
    from assistant.uploads import Uploads

    s = parts.settings
    gate = Gate.from_settings(s, directory if login else None)
    # Each upload is parsed in a child process with limits first (sandbox.py).
    uploads = Uploads.from_settings(s, partial(ingest_uploads, parts, index_files))
    if parts.trail is not None:  # uploads and deletions, from the page and the API alike
        uploads = replace(uploads, on_event=parts.trail.record)
    routers = [admin_router(parts, directory)] if login else []
    return create_app(
        parts.assistant,
        parts.store,
        gate,
        history=History(directory.db),
        uploads=uploads,
        upload_max_bytes=uploads.max_bytes,
        bind_host=s.host,
        allowed_hosts=s.allowed_hosts,
        admission=Admission(s.max_questions_in_flight, s.max_questions_per_user),
        upload_quota_bytes=int(s.upload_quota_mb * 2**20),
        trail=parts.trail,
        oidc=parts.oidc,
        oidc_redirect_url=s.oidc_redirect_url,
        routers=routers,
        feedback=FeedbackLog(directory.db),
    )


def admin_router(parts: Components, directory: Directory) -> APIRouter:
    """The admin page over the served directory, with the directory checks `doctor` runs."""
    from api.admin import Admin, router
    from assistant.auth.accounts import Accounts

    accounts = directory if isinstance(directory, Accounts) else parts.directory
    checks = [(f"LDAP {parts.settings.ldap_url}", parts.ldap.check)] if parts.ldap else []
    if parts.oidc:
        checks.append((f"OpenID {parts.settings.oidc_issuer}", parts.oidc.check))
    return router(Admin(accounts, parts.trail, parts.settings.audit_retention_days, checks))
