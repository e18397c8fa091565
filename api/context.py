"""What the routes share: the core parts, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from assistant.answering import Assistant
from assistant.auth import Principal
from assistant.auth.history import History
from assistant.store import Store
from ui.uploads import Uploads  # no Gradio in it: screening and copying uploads


@dataclass
class Context:
    assistant: Assistant
    store: Store
    history: History | None
    uploads: Uploads | None


def principal(request: Request) -> Principal:
    """Set by `GateMiddleware` for every request it let through."""
    found = request.scope.get("state", {}).get("principal")
    if not isinstance(found, Principal):
        raise HTTPException(401, "sign in or send a token")
    return found
