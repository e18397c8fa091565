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

from fastapi import APIRouter, Request
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


def router(gate: Gate, oidc: OidcSignIn, redirect_url: str) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def failed(message: str, status: int = 400) -> HTMLResponse:
        response = HTMLResponse(with_sso(login_page(message)), status_code=status)
        response.delete_cookie(STATE_COOKIE, path="/oidc")
        return response

    @r.get("/login")
    def form() -> HTMLResponse:  # the login page, with the provider's button
        return HTMLResponse(with_sso(login_page("")), headers={"cache-control": "no-store"})

    @r.get("/oidc/login")
    async def start(request: Request) -> Response:
        callback = redirect_url or str(request.url_for("oidc_callback"))
        try:
            url, state = await run_in_threadpool(oidc.begin, callback)
        except AssistantError as exc:
            log.warning("OpenID sign-in cannot start: %s", one_line(exc))
            return failed("The sign-in provider cannot be reached: try again later.", 503)
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=600,
            httponly=True,
            samesite="lax",
            secure=gate.secure_cookie,
            path="/oidc",
        )
        return response

    @r.get("/oidc/callback", name="oidc_callback")
    async def callback(
        request: Request, code: str = "", state: str = "", error: str = ""
    ) -> Response:
        if error:
            return failed(f"The sign-in provider refused: {error[:200]}")
        if not code or len(code) > MAX_PARAM or len(state) > MAX_PARAM:
            return failed("The sign-in came back without a usable code: start again.")
        accounts = gate.directory
        address = gate.client_ip(request.scope)
        try:
            user = await run_in_threadpool(
                oidc.finish, code, state, request.cookies.get(STATE_COOKIE, "")
            )
            if not isinstance(accounts, Accounts):
                raise AssistantError("login is off on this server")
            principal = await run_in_threadpool(accounts.sign_in_oidc, user)
        except AssistantError as exc:
            _record(accounts, "", "failed", address, reason=one_line(exc))
            return failed(f"Sign-in failed: {one_line(exc)}")
        if principal is None:
            _record(accounts, user.name, "disabled", address)
            return failed("This account is disabled here: ask an administrator.", 403)
        _record(accounts, user.name, "ok", address)
        response = HTMLResponse(MOVE_ON, headers={"cache-control": "no-store"})
        await gate.start_session(response, user.name)
        response.delete_cookie(STATE_COOKIE, path="/oidc")
        return response

    @r.post("/oidc/logout")
    async def logout(request: Request) -> Response:
        back = str(request.url_for("form"))
        response = RedirectResponse(oidc.end_session_url(back) or "/login", status_code=303)
        await gate.end_session(request, response)
        return response

    return r


def _record(accounts: object, name: str, outcome: str, address: str, **detail: str) -> None:
    trail = getattr(accounts, "trail", None)
    if trail is not None:
        trail.record(
            "login", name, outcome=outcome, actor=name, address=address, method="oidc", **detail
        )
