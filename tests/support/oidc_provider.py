"""A real OpenID provider for the OIDC sign-in tests: npm's `oidc-provider` (OpenID
Certified, the library behind many production providers) run by the machine's Node on a
free loopback port; `tests/run.sh` installs it into tests/support/oidc/node_modules while the
registry is reachable. Chosen over a Python provider because it is certified and
maintained, and strict: PKCE required, exact redirect URIs, short-lived single-use codes.

Its development login screen asks for a user name (any password): checking passwords is
the provider's business. `drive` answers its login and consent forms like a person.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "assistant", "assistant-client-secret-1"
OTHER_ID, OTHER_SECRET = "other-app", "other-client-secret-1"
ACCOUNTS = {
    "alice": {"groups": ["Staff"]},
    "bob": {"groups": ["staff", "HR"]},
    "root": {"groups": ["staff"]},  # a local admin's name: must not be taken over
}


def available() -> bool:
    return shutil.which("node") is not None and (HERE / "node_modules/oidc-provider").is_dir()


@dataclass
class Provider:
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, redirect_uris: list[str], log: Path, code_ttl: int = 60) -> None:
        clients = [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
                "post_logout_redirect_uris": [
                    u.replace("/oidc/callback", "/login") for u in redirect_uris
                ],
            },
            {"client_id": OTHER_ID, "client_secret": OTHER_SECRET, "redirect_uris": redirect_uris},
        ]
        config = {"port": self.port, "clients": clients, "accounts": ACCOUNTS, "codeTtl": code_ttl}
        self.process = subprocess.Popen(
            ["node", str(HERE / "provider.mjs"), json.dumps(config)],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=HERE,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2)
                return
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log.read_text()[-2000:]) from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


_FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.I)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', re.I)


def drive(provider_client: httpx.Client, url: str, user: str, stop_at: str) -> str:
    """Follow the provider from its authorization URL, signing in as `user` and
    consenting, until it redirects to `stop_at` (our callback): that URL, with the code."""
    for _ in range(20):
        if url.startswith(stop_at):
            return url
        r = provider_client.get(url)
        while r.status_code in (302, 303) and not r.headers["location"].startswith(stop_at):
            r = provider_client.get(urljoin(url, r.headers["location"]))
        if r.status_code in (302, 303):
            return r.headers["location"]
        action = _FORM.search(r.text)
        assert action, r.text[:500]
        data = dict(_HIDDEN.findall(r.text))  # the prompt: login or consent
        if 'name="login"' in r.text:
            data.update(login=user, password="any")
        r = provider_client.post(urljoin(str(r.url), action[1]), data=data)
        assert r.status_code in (302, 303), r.text[:500]
        url = urljoin(str(r.url), r.headers["location"])
    raise AssertionError("the provider never sent the browser back")
