"""Probes for Docker and Kubernetes, open without login (the gate exempts exactly
`GET`/`HEAD` of these two paths): `/healthz` says the process serves HTTP, `/readyz` that
the store opens and the chat model answers. They tell a caller nothing else: no version,
no reason, no names (the reason goes to the server's log)."""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.context import Context, Ctx
from assistant.errors import one_line

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 5.0
CACHE_S = 5.0  # probes of many replicas every few seconds must not load the backends


class Readiness:
    """The last verdict on the store and the model, re-checked at most every CACHE_S."""

    def __init__(self) -> None:
        self._last: tuple[float, bool] = (-CACHE_S, False)

    async def ready(self, ctx: Context) -> bool:
        at, ok = self._last
        if time.monotonic() - at < CACHE_S:
            return ok
        try:
            await asyncio.wait_for(run_in_threadpool(_check, ctx), CHECK_TIMEOUT_S)
            ok = True
        except Exception as exc:  # any failure means "not ready"; the log says which
            log.warning("not ready: %s", one_line(exc))
            ok = False
        self._last = (time.monotonic(), ok)
        return ok


def _check(ctx: Context) -> None:
    """Raise when the store or the model is not usable."""
    ctx.store.collections()
    ready = getattr(ctx.assistant.model, "ready", None)  # a model server: ask; in-process: loaded
    if ready is not None:
        ready()


router = APIRouter(include_in_schema=False)
NO_STORE = {"cache-control": "no-store"}


@router.api_route("/healthz", methods=["GET", "HEAD"])
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.api_route("/readyz", methods=["GET", "HEAD"])
async def readyz(request: Request, ctx: Ctx) -> JSONResponse:
    readiness = getattr(request.app.state, "readiness", None)
    if readiness is None:
        readiness = request.app.state.readiness = Readiness()
    ok = await readiness.ready(ctx)
    body = {"status": "ready" if ok else "not ready"}
    return JSONResponse(body, status_code=200 if ok else 503, headers=NO_STORE)
