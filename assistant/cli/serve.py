"""`assistant serve`: the web chat, uploads and the HTTP API."""

from __future__ import annotations

import signal
from types import FrameType

import click

from assistant.cli.wiring import ensure_seeded, served_app, warm
from assistant.errors import AssistantError
from assistant.factory import Components
from assistant.hosts import is_loopback
from assistant.settings import Settings


@click.command()
@click.option("--host", help="Interface to bind; 0.0.0.0 serves the internal network.")
@click.option("--port", type=int, help="Port for the web UI.")
def serve(host: str | None, port: int | None) -> None:
    """Start the web chat, document uploads and the HTTP API (default http://127.0.0.1:7860).

    Login is on once a user exists (`assistant users add NAME --admin`); serving beyond
    this machine (e.g. --host 0.0.0.0) without any user is refused."""
    import uvicorn

    parts = Components(Settings.load(host=host, port=port))
    s = parts.settings
    directory = parts.directory
    if parts.trail is not None and s.audit_retention_days:
        parts.trail.purge(s.audit_retention_days)
    login = directory.has_users() or directory.external  # directory accounts sign in too
    if not login and not is_loopback(s.host):
        raise AssistantError(
            f"refusing to serve on {s.host} without login: anyone on the network could read"
            " and delete every document. Create an admin first (`assistant users add NAME"
            " --admin`), or serve on 127.0.0.1"
        )
    ensure_seeded(parts)  # and keyword indexes of an earlier version rebuilt, before listening
    warm(parts)
    app = served_app(parts, directory, login=login)
    mode = "login on" if login else "login off: no users, this machine only"
    click.echo(f"Serving on http://{s.host}:{s.port} (model {parts.model.name}; {mode})", err=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _already_stopped)
    # proxy_headers off: the gate alone decides whose X-Forwarded-For to believe
    # (`trusted_proxies`), instead of uvicorn trusting 127.0.0.1 behind our back.
    uvicorn.run(app, host=s.host, port=s.port, log_level="warning", proxy_headers=False)
    click.echo("Stopped.", err=True)


def _already_stopped(signum: int, frame: FrameType | None) -> None:
    """uvicorn stops gracefully on SIGINT or SIGTERM, then raises the signal again for the
    handler that was there before it. Python's own would kill the process before its exit
    handlers run (SIGTERM: the engine's socket folder stays in /tmp) or print a traceback
    (SIGINT); this one lets `serve` return, and the process exit 0."""
