"""The admin page on a real server (uvicorn on loopback; users from support.server: admin,
alice, bob, carol): a non-admin gets 404 on every admin route and action, each action
works, destructive ones ask first, every change is audited with who and from where,
bad input is one clear message; and the page in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from support.server import PASSWORDS, Server, build_world, serving

from api.admin import ACTIONS

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:::gradio.queueing")]
EVERY_ACTION = [*ACTIONS, "tokens/create", "nothing/here"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    parts, _plain, hr_source = build_world(tmp_path_factory.mktemp("world") / "data")
    parts.settings.audit = True
    accounts = parts.directory  # what `assistant serve` runs with
    tokens = {name: accounts.create_token(name, "test") for name in PASSWORDS}
    with serving(parts, accounts) as (url, app):
        yield Server(url, parts, accounts, tokens, hr_source, app)


@contextmanager
def signed_in(server: Server, user: str) -> Iterator[httpx.Client]:
    """A browser-like client with `user`'s login cookie."""
    with httpx.Client(base_url=server.url, timeout=60) as c:
        r = c.post("/login", data={"username": user, "password": PASSWORDS[user]})
        assert r.status_code == 303
        yield c


def test_a_non_admin_gets_404_on_every_admin_route_and_action(server: Server):
    from support.server import app_routes  # every route of the app, Gradio's too

    admin_paths = {p for p, _ in app_routes(server.app.routes) if p.startswith("/admin")}
    assert admin_paths == {"/admin", "/admin/audit.jsonl", "/admin/{kind}/{verb}"}
    everything = {"name": "admin", "user": "admin", "group": "staff", "collection": "documents",
                  "password": "hijacked-pass-1", "admin": "1", "disabled": "1",
                  "confirm": "yes"}  # fmt: skip
    with server.client("alice") as by_token, signed_in(server, "alice") as by_cookie:
        for c in (by_token, by_cookie):
            for path in ("/admin", "/admin/audit.jsonl"):
                assert c.get(path).status_code == 404, path
            for action in EVERY_ACTION:
                r = c.post(f"/admin/{action}", data=everything)
                assert r.status_code == 404, action
    assert server.directory.authenticate("admin", PASSWORDS["admin"]).is_admin  # untouched
    assert not server.directory.principal("alice").is_admin
    with httpx.Client(base_url=server.url) as anonymous:
        assert anonymous.get("/admin").status_code == 401
        assert anonymous.post("/admin/users/delete", data=everything).status_code == 401


def test_users_are_created_confirmed_deleted_and_audited(server: Server):
    d = server.directory
    with signed_in(server, "admin") as c:
        r = c.post("/admin/users/create", data={"name": "dave", "password": "dave-pass-12",
                                                "groups": "staff, readers"})  # fmt: skip
        assert r.status_code == 200 and "created user &#x27;dave&#x27;" in r.text
        assert d.principal("dave").readable == {"documents"}
        asked = c.post("/admin/users/delete", data={"name": "dave"})
        assert asked.status_code == 200 and "Delete user &#x27;dave&#x27;" in asked.text
        assert 'name="confirm" value="yes"' in asked.text
        assert d.principal("dave") is not None  # nothing happened before the confirmation
        gone = c.post("/admin/users/delete", data={"name": "dave", "confirm": "yes"})
        assert gone.status_code == 200 and d.principal("dave") is None
    deleted = server.parts.trail.query(action="user.delete", limit=1)[0]
    assert (deleted["actor"], deleted["address"], deleted["target"]) == (
        "admin",
        "127.0.0.1",
        "dave",
    )


def test_disable_reset_admin_groups_grants_and_tokens(server: Server):
    d = server.directory
    with signed_in(server, "admin") as c:
        c.post("/admin/users/create", data={"name": "erin", "password": "erin-pass-12"})
        r = c.post("/admin/tokens/create", data={"user": "erin", "name": "laptop"})
        token = r.text.split('<code id="token">')[1].split("<")[0]
        erin = httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {token}"})
        assert erin.get("/api/me").json()["name"] == "erin"
        c.post("/admin/users/disable", data={"name": "erin", "disabled": "1", "confirm": "yes"})
        assert erin.get("/api/me").status_code == 401  # disabled: its token stops working
        assert (
            c.post("/admin/users/disable", data={"name": "erin", "disabled": "0"}).status_code
            == 200
        )
        assert erin.get("/api/me").status_code == 200  # enabling needs no confirmation
        c.post("/admin/users/password", data={"name": "erin", "password": "new-erin-pass-1",
                                              "confirm": "yes"})  # fmt: skip
        assert d.authenticate("erin", "new-erin-pass-1") is not None
        c.post("/admin/users/admin", data={"name": "erin", "admin": "1"})
        assert d.principal("erin").is_admin
        c.post("/admin/groups/create", data={"name": "legal"})
        c.post("/admin/groups/member", data={"group": "legal", "user": "erin"})
        c.post(
            "/admin/grants/set", data={"group": "legal", "collection": "contracts", "role": "owner"}
        )
        assert ("legal", ["erin"], [("contracts", "owner")]) in d.groups()
        c.post(
            "/admin/grants/revoke",
            data={"group": "legal", "collection": "contracts", "confirm": "yes"},
        )
        c.post("/admin/tokens/revoke", data={"user": "erin", "name": "laptop", "confirm": "yes"})
        assert erin.get("/api/me").status_code == 401
        page = c.get("/admin").text
        assert "erin" in page and "legal" in page and "Audit trail" in page
        export = c.get("/admin/audit.jsonl")
        assert export.status_code == 200 and '"action": "token.revoke"' in export.text
        verified = c.post("/admin/audit/verify")
        assert "chain intact" in verified.text
    actions = [r["action"] for r in server.parts.trail.query(user="admin", limit=12)]
    for expected in ("user.disable", "user.enable", "user.password", "user.admin",
                     "group.create", "group.add_member", "grant.set", "grant.revoke",
                     "token.create", "token.revoke"):  # fmt: skip
        assert expected in actions, (expected, actions)


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("users/create", {"name": "../x", "password": "long-enough-1"}, "bad user name"),
        ("users/create", {"name": "x" * 600, "password": "p"}, "longer than 512"),
        ("users/create", {"name": "frank"}, "the field &#x27;password&#x27; is missing"),
        ("users/create", {"name": "frank", "password": "short"}, "too short"),
        ("users/delete", {"name": "nobody-here", "confirm": "yes"}, "no user named"),
        ("grants/set", {"group": "staff", "collection": "c", "role": "god"}, "unknown role"),
        ("users/delete", {"confirm": "yes"}, "missing"),
        ("groups/member", {"group": "*)(uid=*", "user": "alice"}, "no group named"),
    ],
)
def test_bad_input_is_one_clear_message(server: Server, action: str, data: dict, message: str):
    with signed_in(server, "admin") as c:
        r = c.post(f"/admin/{action}", data=data)
        assert r.status_code == 400 and message in r.text, r.text[-600:]
        assert "Traceback" not in r.text
        assert c.post("/admin/nothing/here", data=data).status_code == 404
        huge = c.post("/admin/users/create", content=b"name=" + b"x" * (2 * 2**20),
                      headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert huge.status_code in (400, 413)


def test_the_admin_page_in_chromium(server: Server):
    from support.browser import browser_page

    with browser_page(server.url + "/login") as (page, _):
        page.fill("#username", "admin")
        page.fill("#password", PASSWORDS["admin"])
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/", timeout=60_000)
        page.goto(server.url + "/admin")
        create = page.locator("form[action='/admin/users/create']")
        create.locator("input[name=name]").fill("gina")
        create.locator("input[name=password]").fill("gina-pass-12")
        create.locator("button").click()
        page.wait_for_selector("text=created user 'gina'")
        row = page.locator("tr", has=page.locator("td", has_text="gina")).first
        row.locator("form[action='/admin/users/delete'] button").click()
        page.wait_for_selector("text=Delete user 'gina'")
        page.click("text=Yes, do it")
        page.wait_for_selector("text=deleted user 'gina'")
        assert server.directory.principal("gina") is None
    with browser_page(server.url + "/login") as (page, _):
        page.fill("#username", "alice")
        page.fill("#password", PASSWORDS["alice"])
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/", timeout=60_000)
        response = page.goto(server.url + "/admin")
        assert response.status == 404 and "gina" not in page.content()
