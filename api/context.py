"""What the routes share: the core parts, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from assistant.admission import Admission
from assistant.answering import Assistant
from assistant.auth import Principal
from assistant.feedback import FeedbackLog
from assistant.history import History
from assistant.store import Store
from assistant.uploads import Uploads


@dataclass
class Context:
    assistant: Assistant
    store: Store
    history: History | None
    uploads: Uploads | None
    admission: Admission | None = None
    feedback: FeedbackLog | None = None


def context(request: Request) -> Context:
    """The parts `api.app.create_app` put on the app, for routes to take by `Depends`."""
    found: Context = request.app.state.context
    return found


def principal(request: Request) -> Principal:
    """Set by `GateMiddleware` for every request it let through."""
    found = request.scope.get("state", {}).get("principal")
    if not isinstance(found, Principal):
        raise HTTPException(401, "sign in or send a token")
    return found


Ctx = Annotated[Context, Depends(context)]
Who = Annotated[Principal, Depends(principal)]
