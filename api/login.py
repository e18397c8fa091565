"""The login page and its form: a plain HTML page with no script and no asset, so it
works before anything else on the server is reachable."""

from __future__ import annotations

import html
import logging
import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.gate import COOKIE, Gate
from assistant.auth.ldap import DirectoryUnavailable
from assistant.errors import one_line

log = logging.getLogger(__name__)
DIRECTORY_DOWN = (
    "The organisation's directory cannot be reached, so directory accounts cannot sign in"
    " right now. Try again later, or ask an administrator (local accounts still work)."
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · On-prem Assistant</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; display: grid; place-items: center;
  min-height: 90vh; background: #f6f7f9; }}
form {{ background: #fff; padding: 2em 2.4em; border-radius: 10px; min-width: 18em;
  box-shadow: 0 1px 4px #0002; }}
label {{ display: block; margin: .8em 0 .2em; }}
input {{ width: 100%; padding: .45em; box-sizing: border-box; }}
button {{ margin-top: 1.2em; width: 100%; padding: .55em; }}
.error {{ color: #b91c1c; }}
</style></head><body>
<form method="post" action="/login">
<h1>On-prem Assistant</h1>
<p class="error" role="alert">{message}</p>
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></body></html>
"""


def login_page(message: str) -> str:
    return PAGE.format(message=html.escape(message))


def router(gate: Gate, *, secure_cookie: bool = False) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/login")
    def form() -> HTMLResponse:
        return HTMLResponse(login_page(""), headers={"cache-control": "no-store"})

    @r.post("/login")
    async def login(request: Request) -> Response:
        if gate.directory is None:
            return RedirectResponse("/", status_code=303)
        data = await request.form()
        name, password = str(data.get("username", "")), str(data.get("password", ""))
        ip = gate.client_ip(request.scope)
        wait = gate.limiter.retry_after(name, ip)
        if wait > 0:
            message = f"Too many failed sign-ins: try again in {math.ceil(wait)} seconds."
            headers = {"retry-after": str(math.ceil(wait))}
            return HTMLResponse(login_page(message), status_code=429, headers=headers)
        try:
            principal = await run_in_threadpool(gate.directory.authenticate, name, password)
        except DirectoryUnavailable as exc:  # not a wrong password: say so (details logged)
            log.warning("sign-in of %r: %s", name, one_line(exc))
            return HTMLResponse(login_page(DIRECTORY_DOWN), status_code=503)
        if principal is None:
            gate.limiter.failed(name, ip)
            return HTMLResponse(login_page("Wrong user name or password."), status_code=401)
        gate.limiter.succeeded(name)
        token = await run_in_threadpool(gate.directory.open_session, name, gate.session_hours)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(gate.session_hours * 3600),
            httponly=True,  # page scripts never see it
            samesite="strict",  # another site's form or fetch does not carry it (CSRF)
            secure=secure_cookie,
            path="/",
        )
        return response

    @r.post("/logout")
    async def logout(request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        if token and gate.directory is not None:
            await run_in_threadpool(gate.directory.close_session, token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return r
