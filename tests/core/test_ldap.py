"""Directory sign-in against a real OpenLDAP server (Debian's slapd on loopback, see
support/ldap_server.py): passwords, nested groups mapped to the product's groups at each
sign-in, disabled entries, LDAPS and StartTLS with a CA file, the directory being
down, and LDAP injection in the user name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.ldap_server import (
    BASE,
    PASSWORDS,
    SVC_DN,
    SVC_PW,
    Slapd,
    available,
    people,
    start_slapd,
)
from support.net import free_port

from assistant.audit import Trail
from assistant.auth import Database
from assistant.auth.accounts import Accounts
from assistant.auth.ldap import DirectoryUnavailable, LdapConfig, LdapSignIn

pytestmark = pytest.mark.skipif(not available(), reason="slapd missing: tests/run.sh installs it")

GROUP_MAP = {
    "all-staff": "staff",  # alice is in it through the nested group cn=staff
    f"cn=hr,ou=groups,{BASE}": "hr",  # by DN
    "nobody-maps-this": "ignored",
}


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


def direct(url: str, **kw: object) -> LdapConfig:
    """Bind as the user straight away (no service account)."""
    return LdapConfig(
        url=url,
        user_dn=f"uid={{user}},ou=people,{BASE}",
        base_dn=BASE,
        group_filter="(member={dn})",
        disabled_filter="(employeeType=disabled)",
        **kw,  # type: ignore[arg-type]
    )


def searching(url: str, **kw: object) -> LdapConfig:
    """Find the user with a service account, then bind as them."""
    settings: dict[str, object] = dict(
        url=url,
        bind_dn=SVC_DN,
        bind_password=SVC_PW,
        base_dn=BASE,
        user_filter="(&(objectClass=inetOrgPerson)(uid={user}))",
        group_filter="(member={dn})",
        disabled_filter="(employeeType=disabled)",
    )
    return LdapConfig(**{**settings, **kw})  # type: ignore[arg-type]


def accounts(tmp_path: Path, config: LdapConfig) -> Accounts:
    db = Database(f"sqlite:///{tmp_path / 'users.sqlite3'}")
    found = Accounts(db, Trail(db), ldap=LdapSignIn(config), group_map=GROUP_MAP)
    found.add_user("root", "root-pass-1", admin=True)  # the local break-glass admin
    found.add_group("staff")
    found.grant("staff", "handbook")
    found.add_group("hr")
    found.grant("hr", "payroll", "owner")
    return found


@pytest.mark.parametrize("mode", [direct, searching])
def test_good_and_bad_passwords(slapd: Slapd, tmp_path: Path, mode):
    d = accounts(tmp_path, mode(slapd.url))
    assert d.authenticate("alice", "wrong-password") is None
    assert d.authenticate("alice", "") is None  # an empty password is an anonymous bind
    assert d.authenticate("nobody", PASSWORDS["alice"]) is None
    alice = d.authenticate("alice", PASSWORDS["alice"])
    assert alice is not None and alice.name == "alice" and not alice.is_admin
    assert alice.readable == {"handbook"}  # through the nested group all-staff
    assert d.states()["alice"] == ("ldap", False)
    sync = d.trail.query(action="user.sync")[0]
    assert sync["detail"]["created"] and sync["detail"]["added"] == ["staff"]
    # The account has no usable password here: only the directory signs it in.
    d.ldap = None
    assert d.authenticate("alice", PASSWORDS["alice"]) is None


def test_groups_follow_the_directory_at_each_sign_in(slapd: Slapd, tmp_path: Path):
    d = accounts(tmp_path, direct(slapd.url))
    bob = d.authenticate("bob", PASSWORDS["bob"])
    assert bob.readable == {"handbook", "payroll"} and bob.owned == {"payroll"}
    d.add_group("local-team")  # a product group outside the map is the admin's to manage
    d.add_member("local-team", "bob")
    hr_members(slapd, "svc")  # bob leaves hr (a group keeps at least one member)
    try:
        bob = d.authenticate("bob", PASSWORDS["bob"])
        assert bob.readable == {"handbook"}  # lost the hr collection at this sign-in
        groups = {u.name: u.groups for u in d.users()}
        assert groups["bob"] == ["local-team", "staff"]
        removed = d.trail.query(action="user.sync")[0]["detail"]["removed"]
        assert removed == ["hr"]
    finally:
        hr_members(slapd, "bob")


def hr_members(slapd: Slapd, uid: str) -> None:
    slapd.modify(
        f"dn: cn=hr,ou=groups,{BASE}\nchangetype: modify\nreplace: member\nmember: {people(uid)}\n"
    )


@pytest.mark.parametrize("mode", [direct, searching])
def test_disabled_in_the_directory_is_refused(slapd: Slapd, tmp_path: Path, mode):
    d = accounts(tmp_path, mode(slapd.url))
    assert d.authenticate("carol", PASSWORDS["carol"]) is None
    assert "carol" not in d.states()  # no account was created


def test_disabled_here_is_refused_and_its_sessions_end(slapd: Slapd, tmp_path: Path):
    d = accounts(tmp_path, direct(slapd.url))
    d.authenticate("alice", PASSWORDS["alice"])
    session = d.open_session("alice", 1)
    token = d.create_token("alice", "laptop")
    d.set_disabled("alice", True)
    assert d.authenticate("alice", PASSWORDS["alice"]) is None
    assert d.by_session(session) is None and d.by_token(token) is None
    d.set_disabled("alice", False)
    assert d.by_token(token).name == "alice"
    assert [r["action"] for r in d.trail.query(action="user.")][:2] == [
        "user.enable",
        "user.disable",
    ]


@pytest.mark.parametrize(
    "name",
    ["*)(uid=*", "*", "alice)(|(uid=*", "alice*", "*)(objectClass=*))(&(uid=alice", "al\\2aice"],
)
@pytest.mark.parametrize("mode", [direct, searching])
def test_ldap_injection_in_the_user_name_is_harmless(slapd: Slapd, tmp_path: Path, mode, name):
    d = accounts(tmp_path, mode(slapd.url))
    for password in (PASSWORDS["alice"], "x", ""):
        assert d.authenticate(name, password) is None
    assert set(d.states()) == {"root"}  # nothing was provisioned


def test_filters_are_escaped_even_for_names_the_rule_allows(slapd: Slapd):
    """Defence in depth: the filter escaping alone keeps `*` from matching everyone."""
    sign_in = LdapSignIn(searching(slapd.url))
    assert sign_in._find("*") is None  # escaped by the caller: more than one match, refused
    from ldap3.utils.conv import escape_filter_chars

    assert sign_in._find(escape_filter_chars("*")) is None
    assert sign_in._find("alice") == people("alice")


def test_local_users_win_and_work_while_the_directory_is_down(tmp_path: Path):
    down = f"ldap://127.0.0.1:{free_port()}"  # nothing listens there
    d = accounts(tmp_path, direct(down, timeout=2))
    assert d.authenticate("root", "root-pass-1").is_admin  # break-glass admin
    assert d.authenticate("root", "wrong-pass-1") is None  # never asks the directory
    with pytest.raises(DirectoryUnavailable, match=r"directory at ldap://127\.0\.0\.1:\d+ is"):
        d.authenticate("alice", PASSWORDS["alice"])


def test_ldaps_and_starttls_with_a_ca_file(slapd: Slapd, tmp_path: Path):
    for config in (
        direct(slapd.ldaps_url, ca_file=slapd.ca_file),
        direct(slapd.url, starttls=True, ca_file=slapd.ca_file),
    ):
        assert LdapSignIn(config).authenticate("alice", PASSWORDS["alice"]) is not None
    # Without the CA that signed the server's certificate, no password is sent at all.
    for config in (direct(slapd.ldaps_url), direct(slapd.url, starttls=True)):
        with pytest.raises(DirectoryUnavailable):
            LdapSignIn(config).authenticate("alice", PASSWORDS["alice"])


def test_check_reports_the_service_bind(slapd: Slapd):
    assert "service account bind ok" in LdapSignIn(searching(slapd.url)).check()
    bad = LdapSignIn(searching(slapd.url, bind_password="wrong-secret"))
    with pytest.raises(DirectoryUnavailable, match="bind was refused"):
        bad.check()
    assert "StartTLS" in LdapSignIn(direct(slapd.url, starttls=True, ca_file=slapd.ca_file)).check()


@pytest.mark.slow
def test_sign_in_page_with_the_directory_up_and_down(slapd: Slapd, tmp_path: Path):
    """The served app: a directory user signs in with their directory password; with the
    directory down the page says so (503, not "wrong password") and the local admin
    still signs in."""
    import httpx
    from conftest import make_settings
    from support.server import serving

    from assistant.factory import Components

    settings = make_settings(
        tmp_path / "data",
        auto_seed=False,
        audit=True,
        ldap_url=slapd.url,
        ldap_user_dn=f"uid={{user}},ou=people,{BASE}",
        ldap_base_dn=BASE,
        ldap_group_filter="(member={dn})",
        directory_group_map=GROUP_MAP,
    )
    parts = Components(settings)
    parts.directory.add_user("root", "root-pass-1", admin=True)
    with serving(parts, parts.directory) as (url, _app), httpx.Client(base_url=url) as c:
        r = c.post("/login", data={"username": "alice", "password": PASSWORDS["alice"]})
        assert r.status_code == 303
        assert c.get("/api/me").json()["name"] == "alice"
        parts.directory.ldap.config = direct(f"ldap://127.0.0.1:{free_port()}", timeout=1)
        r = c.post("/login", data={"username": "bob", "password": PASSWORDS["bob"]})
        assert r.status_code == 503 and "directory cannot be reached" in r.text
        r = c.post("/login", data={"username": "root", "password": "root-pass-1"})
        assert r.status_code == 303
    outcomes = [(x["actor"], x["outcome"]) for x in parts.trail.query(action="login")]
    assert outcomes == [("root", "ok"), ("bob", "unavailable"), ("alice", "ok")]


def _doctor(**settings: object) -> list:
    from conftest import make_settings

    from assistant.identity_health import identity_checks

    return list(identity_checks(make_settings(Path("/nonexistent"), **settings)))


def test_doctor_checks_the_directory_and_names_the_fix(slapd: Slapd):
    base = dict(ldap_bind_dn=SVC_DN, ldap_bind_password=SVC_PW, ldap_base_dn=BASE)
    [ok] = _doctor(ldap_url=slapd.url, ldap_starttls=True, ldap_ca_file=slapd.ca_file, **base)
    assert ok.ok and "StartTLS" in ok.detail and "service account bind ok" in ok.detail
    [bad] = _doctor(ldap_url=slapd.url, **{**base, "ldap_bind_password": "wrong-secret"})
    assert not bad.ok and "ASSISTANT_LDAP_BIND_PASSWORD" in bad.fix
    [untrusted] = _doctor(ldap_url=slapd.ldaps_url, **base)
    assert not untrusted.ok and "ASSISTANT_LDAP_CA_FILE" in untrusted.fix
    [down] = _doctor(ldap_url=f"ldap://127.0.0.1:{free_port()}", ldap_timeout=1, **base)
    assert not down.ok and "start the directory server" in down.fix
    [clear] = _doctor(ldap_url="ldap://dc1.corp.example", **base)  # refused before connecting
    assert not clear.ok and "in clear" in clear.detail and "ldaps://" in clear.fix
    [unset] = _doctor(ldap_url=slapd.url)
    assert not unset.ok and "ASSISTANT_LDAP_USER_DN" in unset.fix


def test_doctor_checks_the_audit_chain(tmp_path: Path):
    import sqlite3

    from conftest import make_settings

    from assistant.factory import Components
    from assistant.identity_health import identity_checks

    settings = make_settings(tmp_path, audit=True)
    Components(settings).directory.add_group("staff")  # one record on the trail
    [ok] = identity_checks(settings)
    assert ok.ok and "1 records, chain intact" in ok.detail
    with sqlite3.connect(tmp_path / "assistant.sqlite3") as conn:
        conn.execute("UPDATE audit_records SET actor = 'mallory'")
    [broken] = identity_checks(settings)
    assert not broken.ok and "record 1 was edited" in broken.detail and "investigate" in broken.fix


@pytest.mark.slow
def test_doctor_command_reports_the_directory(slapd: Slapd, tmp_path: Path):
    import json

    from support.cli import run

    result = run(
        ["doctor", "--json"],
        tmp_path,
        ASSISTANT_LDAP_URL=f"ldap://127.0.0.1:{free_port()}",
        ASSISTANT_LDAP_USER_DN=f"uid={{user}},ou=people,{BASE}",
        ASSISTANT_LDAP_TIMEOUT="1",
    )
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert result.returncode == 1 and not checks["directory (LDAP)"]["ok"]
    assert "start the directory server" in checks["directory (LDAP)"]["fix"]
