"""Probes for Docker and Kubernetes, open without login (the gate exempts exactly
`GET`/`HEAD` of these two paths): `/healthz` says the process serves HTTP, `/readyz` that
the store opens and the chat model answers. They tell a caller nothing else: no version,
no reason, no names (the reason goes to the server's log)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 5.0
CACHE_S = 5.0  # probes of many replicas every few seconds must not load the backends


class Readiness:
    def __init__(self, store: Any, model: Any) -> None:
        self.store = store
        self.model = model
        self._last: tuple[float, bool] = (-CACHE_S, False)

    def check(self) -> None:
        """Raise when the store or the model is not usable."""
        self.store.collections()
        ready = getattr(self.model, "ready", None)  # a model server: ask it; in-process: loaded
        if ready is not None:
            ready()

    async def ready(self) -> bool:
        at, ok = self._last
        if time.monotonic() - at < CACHE_S:
            return ok
        try:
            await asyncio.wait_for(run_in_threadpool(self.check), CHECK_TIMEOUT_S)
            ok = True
        except Exception as exc:  # any failure means "not ready"; the log says which
            log.warning("not ready: %s", str(exc).splitlines()[0] if str(exc) else repr(exc))
            ok = False
        self._last = (time.monotonic(), ok)
        return ok


def router(store: Any, model: Any) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    readiness = Readiness(store, model)
    no_store = {"cache-control": "no-store"}

    @r.api_route("/healthz", methods=["GET", "HEAD"])
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"}, headers=no_store)

    @r.api_route("/readyz", methods=["GET", "HEAD"])
    async def readyz() -> JSONResponse:
        ok = await readiness.ready()
        body = {"status": "ready" if ok else "not ready"}
        return JSONResponse(body, status_code=200 if ok else 503, headers=no_store)

    return r
