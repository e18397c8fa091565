"""Questions in flight over HTTP: a place is taken before an answer starts and given
back when its stream ends (or the client goes away); a full line is 503 with the place
and Retry-After, a user over their own limit 429."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import HTTPException

from api.context import Context
from assistant.admission import LineFull, TooManyOfYours
from assistant.auth import Principal


def admit(ctx: Context, who: Principal) -> None:
    if ctx.admission is None:
        return
    try:
        ctx.admission.enter(who.name)
    except TooManyOfYours as exc:
        raise HTTPException(429, str(exc), {"retry-after": str(exc.retry_after)}) from exc
    except LineFull as exc:
        detail = {"error": str(exc), "place": exc.place}
        raise HTTPException(503, detail, {"retry-after": str(exc.retry_after)}) from exc


def leave(ctx: Context, who: Principal) -> None:
    if ctx.admission is not None:
        ctx.admission.leave(who.name)


def released(ctx: Context, who: Principal, lines: Iterator[str]) -> Iterator[str]:
    """`lines`, then the place is given back: at the end, on an error, or when the
    server drops the stream because the client hung up."""
    try:
        yield from lines
    finally:
        leave(ctx, who)
