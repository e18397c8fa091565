"""Who is acting, for the audit trail: set once where a request is identified (the web
layer, the CLI), read wherever a record is written, so the core never passes a user
through every call. A context variable: each request, thread pool call and task sees
its own."""

from __future__ import annotations

import getpass
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str
    address: str = ""


def _local_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container)
        return "cli:unknown"


_current: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


def current_actor() -> Actor:
    """The actor set for this context; on the command line, the operating-system user."""
    return _current.get() or Actor(_local_user(), "local")


def acting_as(name: str, address: str = "") -> None:
    """Set who acts for the rest of this context (a request, a Gradio event)."""
    _current.set(Actor(name, address))
