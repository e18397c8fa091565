"""The login page and its form: a plain HTML page with no script and no asset, so it
works before anything else on the server is reachable."""

from __future__ import annotations

import html
import logging
import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.gate import Gate
from api.passwords import Busy
from api.style import PALETTE
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
<style>{palette}
body {{ font-family: system-ui, sans-serif; margin: 0; }}
main {{ display: grid; place-items: center; min-height: 90vh; padding: 0 1em; }}
form {{ background: var(--surface); padding: 2em 2.4em; border-radius: 10px; min-width: 18em;
  max-width: 100%; box-sizing: border-box; box-shadow: 0 1px 4px #0003;
  border: 1px solid var(--line); }}
h1 {{ font-size: 1.6em; margin: 0 0 .4em; }}
label {{ display: block; margin: .8em 0 .2em; }}
input {{ width: 100%; padding: .45em; box-sizing: border-box; }}
button {{ margin-top: 1.2em; width: 100%; padding: .55em; }}
.error {{ color: var(--error); margin: 0; }}
.error:empty {{ display: none; }}
</style></head><body><main>
<form method="post" action="/login">
<h1>On-prem Assistant</h1>
<p class="error" role="alert">{message}</p>
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="primary">Sign in</button>
</form></main></body></html>
"""


MAX_NAME = 64  # as long as a user name can be (assistant.auth.directory)
MAX_PASSWORD = 1024
# The page must not be framed (clickjacking) and its form posts only here.
PAGE_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline';"
    " form-action 'self'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
}


def login_page(message: str) -> str:
    return PAGE.format(palette=PALETTE, message=html.escape(message))


def _page(message: str, status: int, **headers: str) -> HTMLResponse:
    return HTMLResponse(login_page(message), status_code=status, headers=PAGE_HEADERS | headers)


def router(gate: Gate) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/login")
    def form() -> HTMLResponse:
        return _page("", 200)

    @r.post("/login")
    async def login(request: Request) -> Response:
        if gate.directory is None:
            return RedirectResponse("/", status_code=303)
        data = await request.form()
        name, password = str(data.get("username", "")), str(data.get("password", ""))
        if not name or not password or len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
            return _page("Wrong user name or password.", 401)  # no such user can exist
        ip = gate.client_ip(request.scope)
        wait = gate.limiter.reserve(name, ip)  # counted before the check, not after
        if wait > 0:
            message = f"Too many failed sign-ins: try again in {math.ceil(wait)} seconds."
            return _page(message, 429, **{"retry-after": str(math.ceil(wait))})
        try:
            principal = await gate.checks.run(gate.directory.authenticate, name, password)
        except Busy:
            gate.limiter.refund(name, ip)
            message = "The server is busy checking other sign-ins: try again in a second."
            return _page(message, 503, **{"retry-after": "1"})
        except DirectoryUnavailable as exc:  # not a wrong password: say so (details logged)
            gate.limiter.refund(name, ip)
            log.warning("sign-in of %r: %s", name, one_line(exc))
            return _page(DIRECTORY_DOWN, 503)
        if principal is None:
            return _page("Wrong user name or password.", 401)
        gate.limiter.succeeded(name, ip)
        response = RedirectResponse("/", status_code=303)
        await gate.start_session(response, name)
        return response

    @r.post("/logout")
    async def logout(request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        await gate.end_session(request, response)
        return response

    return r
