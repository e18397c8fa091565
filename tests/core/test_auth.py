"""Users, groups, grants, tokens, sessions and history in a real SQLite database, and the
`assistant users|groups|tokens` commands as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import clean_env, run
from support.net import free_port
from support.paths import ASSISTANT

from assistant.answering import Answer, Source
from assistant.auth import LOCAL, Database, Directory, Principal
from assistant.auth.access import AccessDenied, scope
from assistant.auth.ratelimit import LoginLimiter
from assistant.errors import AssistantError
from assistant.history import History


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    return Directory(Database(f"sqlite:///{tmp_path / 'auth.sqlite3'}"))


def test_passwords_and_tokens_are_stored_only_as_hashes(directory: Directory, tmp_path: Path):
    directory.add_user("alice", "correct horse", groups=["staff"])
    token = directory.create_token("alice", "laptop")
    assert directory.authenticate("alice", "correct horse").name == "alice"
    assert directory.authenticate("alice", "wrong horse") is None
    assert directory.authenticate("nobody", "correct horse") is None
    assert directory.by_token(token).name == "alice"
    assert directory.by_token(token + "x") is None
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("auth.sqlite3*"))
    assert b"correct horse" not in raw and token.encode() not in raw
    assert b"$argon2id$" in raw


def test_no_weak_or_duplicate_users(directory: Directory):
    with pytest.raises(AssistantError, match="too short"):
        directory.add_user("bob", "short")
    with pytest.raises(AssistantError, match="bad user name"):
        directory.add_user("../bob", "long enough pass")
    directory.add_user("bob", "long enough pass")
    with pytest.raises(AssistantError, match="exists already"):
        directory.add_user("bob", "another long pass")


def test_grants_decide_what_a_user_reads_and_owns(directory: Directory):
    directory.add_user("alice", "alice-pass-1", groups=["staff"])
    directory.add_user("bob", "bob-pass-12", groups=["hr"])
    directory.add_user("root", "root-pass-1", admin=True)
    directory.grant("staff", "handbook")
    directory.grant("hr", "handbook")
    directory.grant("hr", "payroll", "owner")
    alice, bob, root = (directory.principal(n) for n in ("alice", "bob", "root"))
    existing = ["handbook", "payroll", "secret"]
    assert alice.visible(existing) == ["handbook"] and not alice.can_write("handbook")
    assert bob.visible(existing) == ["handbook", "payroll"] and bob.can_write("payroll")
    assert root.visible(existing) == existing and root.can_write("secret")
    directory.revoke("hr", "payroll")
    assert not directory.principal("bob").can_read("payroll")
    directory.remove_member("staff", "alice")
    assert directory.principal("alice").visible(existing) == []


def test_scope_runs_questions_only_against_readable_collections(seeded):
    store = seeded.store
    reader = Principal("r", readable=frozenset({"documents"}))
    assert scope(reader, store) == ["documents"]
    assert scope(LOCAL, store, "documents") == ["documents"]
    assert scope(Principal("nobody"), store) == []
    for name in ("documents", "missing"):  # forbidden and missing look the same
        with pytest.raises(AccessDenied, match="no collection named"):
            scope(Principal("nobody"), store, name)
    answer = seeded.assistant.ask("When was Llama 2 released?", collections=[])
    assert answer.sources == [] and answer.result().refused


def test_sessions_expire_and_end_on_password_change(directory: Directory):
    directory.add_user("alice", "alice-pass-1")
    token = directory.open_session("alice", hours=1)
    assert directory.by_session(token).name == "alice"
    directory.set_password("alice", "alice-pass-2")
    assert directory.by_session(token) is None
    gone = directory.open_session("alice", hours=-1)
    assert directory.by_session(gone) is None


def test_history_belongs_to_its_user(directory: Directory):
    history = History(directory.db)
    alice, bob = Principal("alice", readable=frozenset({"hr-files"})), Principal("bob")
    src = Source(1, "/d/pay.md", "Pay", "lines 1-2", "secret", 0.9, "c1", collection="hr-files")
    answer = Answer("What is the pay?", "It is [1].", [src], False, "m")
    conv = history.record(alice, answer)
    assert history.record(alice, answer, conv) == conv
    assert [c.turns for c in history.list(alice)] == [2]
    assert history.list(bob) == [] and history.get(bob, conv) is None
    assert not history.delete(bob, conv)
    assert history.record(bob, answer, conv) != conv  # bob's own, not appended to alice's
    assert [c.turns for c in history.list(alice)] == [2] and len(history.list(bob)) == 1
    assert history.get(alice, conv)["turns"][0]["sources"][0]["snippet"] == "secret"
    revoked = Principal("alice")  # the grant is gone: the stored sources are hidden
    turn = history.get(revoked, conv)["turns"][0]
    assert turn["sources"] == [] and turn["hidden"]
    assert answer.text not in json.dumps(turn)  # the text may quote what was revoked
    assert history.delete(alice, conv) and history.list(alice) == []


def test_login_limiter_counts_failures_per_user_and_per_address():
    limiter = LoginLimiter(max_failures=3, window_s=60, per_ip_factor=2)
    for _ in range(3):
        assert limiter.retry_after("alice", "10.0.0.1") == 0
        limiter.failed("alice", "10.0.0.1")
    assert 0 < limiter.retry_after("alice", "10.0.0.2") <= 60  # the name, from anywhere
    assert limiter.retry_after("bob", "10.0.0.3") == 0
    for n in range(3):
        limiter.failed(f"user{n}", "10.0.0.1")
    assert limiter.retry_after("carol", "10.0.0.1") > 0  # the address, for any name
    limiter.succeeded("alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.9") == 0


def test_cli_manages_users_groups_and_tokens(tmp_path: Path):
    def cli(*args: str, stdin: str | None = None):
        return run(list(args), tmp_path, input=stdin)

    assert cli("users", "add", "root", "--admin", stdin="root-pass-1\n").returncode == 0
    result = cli("users", "add", "alice", "-g", "staff", stdin="alice-pass-1\n")
    assert result.returncode == 0, result.stderr
    again = cli("users", "add", "alice", stdin="alice-pass-1\n")
    assert again.returncode == 1 and again.stderr == "error: user 'alice' exists already\n"
    weak = cli("users", "add", "eve", stdin="short\n")
    assert weak.returncode == 1 and "too short" in weak.stderr and "Traceback" not in weak.stderr
    assert cli("groups", "grant", "staff", "documents").returncode == 0
    listed = cli("users", "list").stdout
    assert "root  admin" in listed and "alice  user  groups: staff" in listed
    assert "documents (read)" in cli("groups").stdout
    token = cli("tokens", "create", "alice", "--name", "laptop").stdout.strip()
    assert token.startswith("oa_") and len(token) > 40
    assert "alice  laptop" in cli("tokens", "list").stdout
    assert cli("users", "passwd", "alice", stdin="alice-pass-2\n").returncode == 0
    missing = cli("tokens", "create", "nobody")
    assert missing.returncode == 1 and missing.stderr == "error: no user named 'nobody'\n"
    usage = cli("groups", "grant", "staff", "documents", "--role", "god")
    assert usage.returncode == 2


def test_serve_refuses_the_network_without_users(tmp_path: Path):
    result = run(["serve", "--host", "0.0.0.0"], tmp_path, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("error: refusing to serve on 0.0.0.0 without login")
    assert "assistant users add NAME --admin" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "chroma").exists()  # refused before touching the store


def test_proxy_header_is_believed_only_when_on_and_from_a_trusted_address(directory: Directory):
    from api.gate import Gate

    directory.add_user("alice", "alice-pass-1")

    def scope_from(ip: str, **headers: str) -> dict:
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        return {"type": "http", "client": (ip, 5000), "headers": raw}

    limiter = LoginLimiter(5, 60)
    off = Gate(directory, limiter)
    on = Gate(directory, limiter, trusted_header="x-remote-user", trusted_proxies=("10.1.0.0/16",))
    assert off.identify(scope_from("10.1.2.3", **{"x-remote-user": "alice"})) is None
    assert on.identify(scope_from("10.1.2.3", **{"x-remote-user": "alice"})).name == "alice"
    assert on.identify(scope_from("10.2.0.1", **{"x-remote-user": "alice"})) is None
    assert on.identify(scope_from("10.1.2.3", **{"x-remote-user": "mallory"})) is None
    # a wrong token never falls back to the header or a cookie
    forged = {"x-remote-user": "alice", "authorization": "Bearer nope"}
    assert on.identify(scope_from("10.1.2.3", **forged)) is None
    assert Gate(None, limiter).identify(scope_from("10.9.9.9")) is LOCAL
    # behind the proxy, the login limit counts the asker's address, not the proxy's
    relayed = {"x-forwarded-for": "198.51.100.7, 203.0.113.9, 10.1.0.5"}
    assert on.client_ip(scope_from("10.1.2.3", **relayed)) == "203.0.113.9"
    assert on.client_ip(scope_from("10.2.0.1", **relayed)) == "10.2.0.1"  # not our proxy
    assert off.client_ip(scope_from("10.1.2.3", **relayed)) == "10.1.2.3"


@pytest.mark.slow
def test_serve_needs_no_login_on_loopback_until_a_user_exists(tmp_path: Path):
    import subprocess
    import time

    import httpx

    env = clean_env(tmp_path)

    def me(port: int) -> httpx.Response:
        proc = subprocess.Popen(
            [ASSISTANT, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/api/me", timeout=5)
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stderr.read()
                    time.sleep(0.5)
            raise AssertionError("the server did not start")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            proc.stderr.close()

    laptop = me(free_port())
    assert laptop.status_code == 200 and laptop.json()["name"] == "local"
    added = run(["users", "add", "root", "--admin"], tmp_path, input="root-pass-1\n")
    assert added.returncode == 0, added.stderr
    assert me(free_port()).status_code == 401
