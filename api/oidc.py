"""OpenID Connect sign-in routes: `/oidc/login` sends the browser to the provider,
`/oidc/callback` takes it back (state, code, PKCE and ID token checked by
`assistant.auth.oidc`), opens the same session a password sign-in opens, and
`/oidc/logout` ends it here and at the provider.

The state cookie is SameSite=Lax: the provider's redirect back is a cross-site
navigation, which a Strict cookie would not come with. The session cookie stays Strict,
so the callback answers with a page that moves on to `/` itself (a same-site
navigation that carries it), not with a redirect from the cross-site chain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.gate import Gate
from api.login import login_page
from assistant.auth.accounts import Accounts
from assistant.auth.oidc import OidcSignIn
from assistant.errors import AssistantError, one_line

log = logging.getLogger(__name__)
STATE_COOKIE = "assistant_oidc_state"
MAX_PARAM = 4096  # a code or state longer than this is not one
SSO_BUTTON = (
    '<p style="text-align:center;margin-top:1.4em">'
    '<a id="sso" href="/oidc/login">Sign in with your organisation account</a></p>'
)
MOVE_ON = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0;url=/"><title>Signed in</title></head>
<body><p>Signed in. <a href="/">Continue</a></p></body></html>"""


def with_sso(page: str) -> str:
    """The login page with the button for the provider's sign-in."""
    return page.replace("</form>", f"</form>{SSO_BUTTON}", 1)


@dataclass(frozen=True)
class Sso:
    """What the routes need: `api.app.create_app` puts it on the app (`app.state.sso`)."""

    gate: Gate
    sign_in: OidcSignIn
    redirect_url: str  # the callback's public URL; empty: as the request reached us


def sso(request: Request) -> Sso:
    found: Sso = request.app.state.sso
    return found


SsoOf = Annotated[Sso, Depends(sso)]
router = APIRouter(include_in_schema=False)


def _failed(message: str, status: int = 400) -> HTMLResponse:
    response = HTMLResponse(with_sso(login_page(message)), status_code=status)
    response.delete_cookie(STATE_COOKIE, path="/oidc")
    return response


@router.get("/login")
def form() -> HTMLResponse:  # the login page, with the provider's button
    return HTMLResponse(with_sso(login_page("")), headers={"cache-control": "no-store"})


@router.get("/oidc/login")
async def start(request: Request, s: SsoOf) -> Response:
    callback = s.redirect_url or str(request.url_for("oidc_callback"))
    try:
        url, state = await run_in_threadpool(s.sign_in.begin, callback)
    except AssistantError as exc:
        log.warning("OpenID sign-in cannot start: %s", one_line(exc))
        return _failed("The sign-in provider cannot be reached: try again later.", 503)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=s.gate.secure_cookie,
        path="/oidc",
    )
    return response


@router.get("/oidc/callback", name="oidc_callback")
async def callback(
    request: Request, s: SsoOf, code: str = "", state: str = "", error: str = ""
) -> Response:
    if error:
        return _failed(f"The sign-in provider refused: {error[:200]}")
    if not code or len(code) > MAX_PARAM or len(state) > MAX_PARAM:
        return _failed("The sign-in came back without a usable code: start again.")
    accounts = s.gate.directory
    address = s.gate.client_ip(request.scope)
    try:
        user = await run_in_threadpool(
            s.sign_in.finish, code, state, request.cookies.get(STATE_COOKIE, "")
        )
        if not isinstance(accounts, Accounts):
            raise AssistantError("login is off on this server")
        principal = await run_in_threadpool(accounts.sign_in_oidc, user)
    except AssistantError as exc:
        _record(accounts, "", "failed", address, reason=one_line(exc))
        return _failed(f"Sign-in failed: {one_line(exc)}")
    if principal is None:
        _record(accounts, user.name, "disabled", address)
        return _failed("This account is disabled here: ask an administrator.", 403)
    _record(accounts, user.name, "ok", address)
    response = HTMLResponse(MOVE_ON, headers={"cache-control": "no-store"})
    await s.gate.start_session(response, user.name)
    response.delete_cookie(STATE_COOKIE, path="/oidc")
    return response


@router.post("/oidc/logout")
async def logout(request: Request, s: SsoOf) -> Response:
    back = str(request.url_for("form"))
    response = RedirectResponse(s.sign_in.end_session_url(back) or "/login", status_code=303)
    await s.gate.end_session(request, response)
    return response


def _record(accounts: object, name: str, outcome: str, address: str, **detail: str) -> None:
    trail = getattr(accounts, "trail", None)
    if trail is not None:
        trail.record(
            "login", name, outcome=outcome, actor=name, address=address, method="oidc", **detail
        )
