"""OpenID Connect sign-in against a real provider (npm's OpenID-certified `oidc-provider`
on loopback, see support/oidc_provider.py) and the real served app: the code flow with PKCE,
groups from the claim mapped to the product's, logout, and the attacks: a forged or
replayed state, an expired code, an ID token for another audience, a local admin's name,
oversized and malformed callbacks. The end-to-end journey in Chromium is at the end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from support.net import free_port
from support.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_ID,
    OTHER_SECRET,
    Provider,
    available,
    drive,
)
from support.paths import make_settings
from support.server import serving

from assistant.auth.oidc import OidcConfig, OidcError, OidcSignIn
from assistant.factory import Components

pytestmark = [
    pytest.mark.slow,  # the served app loads the model
    pytest.mark.skipif(not available(), reason="oidc-provider missing: tests/run.sh installs it"),
    pytest.mark.filterwarnings("ignore:::gradio.queueing"),
]
CODE_TTL = 3  # seconds the provider's codes live


@dataclass
class World:
    url: str
    parts: Components
    provider: Provider

    @property
    def callback(self) -> str:
        return self.url + "/oidc/callback"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("oidc")
    provider = Provider(free_port())
    settings = make_settings(
        tmp / "data",
        auto_seed=False,
        audit=True,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_scopes="openid profile groups",
        directory_group_map={"staff": "staff", "hr": "hr"},
    )
    parts = Components(settings)
    d = parts.directory
    d.add_user("root", "root-pass-1", admin=True)
    d.add_group("staff")
    d.grant("staff", "handbook")
    d.add_group("hr")
    d.grant("hr", "payroll")
    with serving(parts, d) as (url, _app):
        provider.start([url + "/oidc/callback"], tmp / "provider.log", code_ttl=CODE_TTL)
        try:
            yield World(url, parts, provider)
        finally:
            provider.stop()


def start(world: World, user: str) -> tuple[httpx.Client, str]:
    """A browser (cookie jar) that started a sign-in here and answered the provider:
    the callback URL the provider sent it back to (not yet followed)."""
    browser = httpx.Client(base_url=world.url, timeout=30)
    r = browser.get("/oidc/login")
    assert r.status_code == 303
    auth_url = r.headers["location"]
    query = parse_qs(urlsplit(auth_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0]
    with httpx.Client(timeout=30) as at_provider:
        return browser, drive(at_provider, auth_url, user, world.callback)


def test_sign_in_maps_groups_and_logout_ends_the_session(world: World):
    browser, back = start(world, "bob")
    with closing(browser):
        r = browser.get(back)
        assert r.status_code == 200 and 'url=/"' in r.text  # the page moves on to /
        me = browser.get("/api/me").json()
        assert me["name"] == "bob" and not me["admin"]
        assert world.parts.directory.principal("bob").readable == {"handbook", "payroll"}
        assert world.parts.directory.states()["bob"] == ("oidc", False)
        login = world.parts.trail.query(action="login", limit=1)[0]
        assert (login["actor"], login["outcome"], login["detail"]["method"]) == (
            "bob",
            "ok",
            "oidc",
        )
        r = browser.post("/oidc/logout")
        assert r.status_code == 303
        end = urlsplit(r.headers["location"])
        assert end.netloc == urlsplit(world.provider.issuer).netloc
        assert parse_qs(end.query)["client_id"] == [CLIENT_ID]
        assert browser.get("/api/me").status_code == 401


def test_the_login_page_offers_the_provider(world: World):
    page = httpx.get(world.url + "/login")
    assert 'href="/oidc/login"' in page.text and 'action="/login"' in page.text
    unauthenticated = httpx.get(world.url + "/", headers={"accept": "text/html"})
    assert unauthenticated.status_code == 401 and 'href="/oidc/login"' in unauthenticated.text


def test_a_forged_state_is_refused(world: World):
    browser, back = start(world, "alice")
    forged = back.replace("state=", "state=forged")
    with closing(browser):
        r = browser.get(forged)
        assert r.status_code == 400 and "state does not match" in r.text
        assert browser.get("/api/me").status_code == 401
    # The genuine callback in another browser (no state cookie) is refused too.
    with httpx.Client(timeout=30) as stranger:
        r = stranger.get(back)
        assert r.status_code == 400 and "state does not match" in r.text


def test_a_replayed_callback_is_refused(world: World):
    browser, back = start(world, "alice")
    with closing(browser):
        assert browser.get(back).status_code == 200
        browser.cookies.set("assistant_oidc_state", parse_qs(urlsplit(back).query)["state"][0])
        r = browser.get(back)
        assert r.status_code == 400 and "unknown or too old" in r.text


def test_an_expired_code_is_refused(world: World):
    browser, back = start(world, "alice")
    time.sleep(CODE_TTL + 1.5)
    with closing(browser):
        r = browser.get(back)
        assert r.status_code == 400 and "refused the sign-in code" in r.text
        assert browser.get("/api/me").status_code == 401


def test_an_id_token_for_another_audience_is_refused(world: World):
    """A genuine ID token from the same provider, issued to another client."""
    other = OidcSignIn(OidcConfig(world.provider.issuer, OTHER_ID, OTHER_SECRET, "openid"))
    url, state = other.begin(world.callback)
    with httpx.Client(timeout=30) as at_provider:
        back = drive(at_provider, url, "alice", world.callback)
    code = parse_qs(urlsplit(back).query)["code"][0]
    pending = other._pending[state]
    id_token = other._exchange(code, pending)["id_token"]
    assert other.check_id_token(id_token, pending.nonce)["aud"] == OTHER_ID  # valid there
    ours = world.parts.oidc
    with pytest.raises(OidcError, match="not valid for this client"):
        ours.check_id_token(id_token, pending.nonce)
    with pytest.raises(OidcError, match="not valid"):
        other.check_id_token(id_token, "another-nonce")  # nonce bound to its sign-in


def test_a_local_admins_name_is_not_taken_over(world: World):
    browser, back = start(world, "root")
    with closing(browser):
        r = browser.get(back)
        assert r.status_code == 400 and "local account is named &#x27;root&#x27;" in r.text
        assert browser.get("/api/me").status_code == 401


def test_a_disabled_account_is_refused(world: World):
    browser, back = start(world, "alice")
    with closing(browser):
        assert browser.get(back).status_code == 200
    world.parts.directory.set_disabled("alice", True)
    try:
        browser, back = start(world, "alice")
        with closing(browser):
            r = browser.get(back)
            assert r.status_code == 403 and "disabled" in r.text
    finally:
        world.parts.directory.set_disabled("alice", False)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "code=&state=",
        "error=access_denied&error_description=no",
        "code=" + "x" * 5000 + "&state=y",
        "code=abc&state=" + "%00%ff" * 10,
        "code=abc&state=abc&state=def",
    ],
)
def test_malformed_and_oversized_callbacks_are_refused(world: World, query: str):
    with httpx.Client(base_url=world.url, timeout=30) as c:
        c.cookies.set("assistant_oidc_state", "abc")
        r = c.get("/oidc/callback?" + query)
        assert r.status_code == 400, r.text[:300]
        assert "Traceback" not in r.text
    assert world.parts.trail.verify().ok


def test_browser_signs_in_through_the_provider(world: World):
    """End to end in Chromium: the login page's button, the provider's login and
    consent screens, back to the chat signed in; then sign out."""
    from support.browser import browser_page

    with browser_page(world.url + "/login") as (page, _):
        # The provider's development pages link a web font: nothing leaves the machine.
        page.route("**/*", _loopback_only)
        page.click("#sso")
        page.wait_for_selector("input[name=login]", timeout=30_000)
        assert page.url.startswith(world.provider.issuer)
        page.fill("input[name=login]", "alice")
        page.fill("input[name=password]", "any")
        page.click("button[type=submit]")
        page.wait_for_selector("button[type=submit]:has-text('Continue')", timeout=30_000)
        page.click("button[type=submit]:has-text('Continue')")
        page.wait_for_url(world.url + "/", timeout=60_000)
        page.wait_for_selector("#question textarea", timeout=120_000)
        me = page.evaluate("fetch('/api/me').then(r => r.json())")
        assert me["name"] == "alice"


def _loopback_only(route, request) -> None:  # type: ignore[no-untyped-def]
    host = urlsplit(request.url).hostname
    route.continue_() if host in ("127.0.0.1", "localhost") else route.abort()


def test_doctor_checks_the_provider(world: World, tmp_path):
    from assistant.identity_health import identity_checks

    def check(**kw: object):
        settings = make_settings(tmp_path, **{"oidc_client_id": CLIENT_ID, **kw})
        [found] = identity_checks(settings)
        return found

    ok = check(oidc_issuer=world.provider.issuer)
    assert ok.ok and "signing key" in ok.detail
    wrong = check(oidc_issuer=world.provider.issuer + "/realms/nope")
    assert not wrong.ok and "ASSISTANT_OIDC_ISSUER" in wrong.fix
    clear = check(oidc_issuer="http://sso.corp.example")
    assert not clear.ok and "https://" in clear.fix
    assert not check(oidc_issuer=world.provider.issuer, oidc_client_id="").ok
