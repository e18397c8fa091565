"""The server `assistant serve` runs: FastAPI with the API, the login page and the
Gradio UI mounted at `/`, behind `GateMiddleware` (every route) and `BodyLimit`.

OpenAPI docs at /docs (signed in, like everything else)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import fastapi_offline
import gradio as gr
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig

from api import feedback as feedback_routes
from api import health, login, openai_compat, routes, viewer
from api.context import Context
from api.gate import BodyLimit, Gate, GateMiddleware
from api.guard import HostGuard, OriginGuard
from api.quota import UploadQuota
from assistant.admission import Admission
from assistant.answering import Assistant
from assistant.audit import Trail, acting_as
from assistant.auth import LOCAL, Principal
from assistant.auth.oidc import OidcSignIn
from assistant.feedback import FeedbackLog
from assistant.history import History
from assistant.store import Store
from assistant.uploads import Uploads
from ui.app import CSS, THEME, build_app

MULTIPART_SLACK = 2**20  # form boundaries and headers around an upload of the largest size
# FastAPI's built-in OpenTelemetry, off in code so no variable can turn its export on
# (assistant/offline.py also forces the variables, for the apps Gradio builds).
NO_TELEMETRY: TelemetryConfig = {
    "auto_configure": False,
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}
# Swagger UI's files, served from here: FastAPI's default /docs loads them from a CDN.
DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"


def create_app(
    assistant: Assistant,
    store: Store,
    gate: Gate,
    *,
    history: History | None = None,
    uploads: Uploads | None = None,
    upload_max_bytes: int = 50 * 2**20,
    bind_host: str = "127.0.0.1",
    allowed_hosts: Sequence[str] = (),
    admission: Admission | None = None,
    upload_quota_bytes: int = 500 * 2**20,
    trail: Trail | None = None,
    oidc: OidcSignIn | None = None,
    oidc_redirect_url: str = "",
    routers: Sequence[APIRouter] = (),
    feedback: FeedbackLog | None = None,
) -> FastAPI:
    app = _api_with_docs()
    app.state.context = Context(assistant, store, history, uploads, admission, feedback)
    login_page = _include_routes(app, gate, oidc, oidc_redirect_url, routers)
    blocks = build_app(
        assistant,
        store,
        uploads=uploads,
        user_of=partial(_user_of, gate) if gate.enabled else None,
        history=history,  # without login: the local user's conversations, as in the CLI
        queue_max=admission.max_in_flight if admission else None,
        feedback=feedback,
    )
    app = _mount_ui(app, blocks)
    if trail is not None:  # inside the gate: it knows who is asking
        from api.audit import AuditMiddleware

        app.add_middleware(AuditMiddleware, gate=gate, trail=trail)
    # Added last = runs first: the Host, then the Origin, then the gate, then the body
    # limit, then the upload quota, then the audit, then any route.
    app.add_middleware(UploadQuota, quota_bytes=upload_quota_bytes)
    app.add_middleware(BodyLimit, max_bytes=upload_max_bytes + MULTIPART_SLACK)
    app.add_middleware(GateMiddleware, gate=gate, login_page=login_page)
    app.add_middleware(OriginGuard)
    app.add_middleware(HostGuard, bind=bind_host, allowed=allowed_hosts)
    return app


def _api_with_docs() -> FastAPI:
    """The app, with its OpenAPI docs served from here: FastAPI's default /docs loads
    Swagger UI from a CDN."""
    app = FastAPI(
        title="On-prem Assistant",
        summary="Answers from your organisation's documents, with sources; nothing leaves"
        " this machine. Sign in at /login, or send `Authorization: Bearer TOKEN`.",
        docs_url=None,
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    app.mount("/docs-static", StaticFiles(directory=DOCS_STATIC), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="On-prem Assistant API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # no call to swagger.io
        )

    return app


def _include_routes(
    app: FastAPI,
    gate: Gate,
    oidc: OidcSignIn | None,
    oidc_redirect_url: str,
    routers: Sequence[APIRouter],
) -> Callable[[str], str]:
    """Every route but the UI's; returns the login page the gate shows."""
    app.include_router(health.router)
    login_page = login.login_page
    if oidc is not None:  # first: its /login page carries the provider's button
        from api import oidc as oidc_routes

        app.state.sso = oidc_routes.Sso(gate, oidc, oidc_redirect_url)
        app.include_router(oidc_routes.router)
        login_page = lambda message: oidc_routes.with_sso(login.login_page(message))  # noqa: E731
    app.include_router(login.router(gate))
    app.include_router(routes.router)
    for extra in routers:  # e.g. the admin page; before the UI, which takes every other path
        app.include_router(extra)
    app.include_router(openai_compat.router)
    app.include_router(viewer.router)
    app.include_router(feedback_routes.router)
    return login_page


def _mount_ui(app: FastAPI, blocks: gr.Blocks) -> FastAPI:
    return gr.mount_gradio_app(
        app,
        blocks,
        path="",
        auth_dependency=_username,  # gr.Request.username; the gate has checked it already
        footer_links=["api"],
        show_error=False,
        ssr_mode=False,
        # No max_file_size: Gradio would drop a whole selection for one file over it, with
        # no word on which. `BodyLimit` caps each request at the upload size (+ form
        # overhead) before it is read, and `assistant.uploads.screen` names each file that
        # is too large in its own result row.
        theme=THEME,
        css=CSS,
    )


def _username(request: Request) -> str | None:
    found = request.scope.get("state", {}).get("principal")
    return found.name if isinstance(found, Principal) else None


def _user_of(gate: Gate, request: Any) -> Principal:
    """The user behind a Gradio event, looked up afresh (permissions may have changed)."""
    if gate.directory is None:
        return LOCAL
    name = getattr(request, "username", None)
    found = gate.directory.principal(name) if name else None
    if found is None:
        raise PermissionError("not signed in")  # the gate makes this unreachable
    acting_as(found.name, getattr(getattr(request, "client", None), "host", "") or "")
    return found
