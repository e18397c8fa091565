"""The audit trail of a real server (uvicorn on loopback, real Chroma, the packaged model):
sign-in and sign-out with the address, each question with its asker, the collections
searched and the sources returned, documents downloaded and deleted, the refused ones
too; and nothing of it when the setting is off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.server import PASSWORDS, Server, build_world, serving

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:::gradio.queueing")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    parts, directory, hr_source = build_world(tmp_path_factory.mktemp("world") / "data")
    parts.settings.audit = True
    audited = parts.directory  # the same database, with every change recorded
    tokens = {name: audited.create_token(name, "test") for name in PASSWORDS}
    with serving(parts, audited) as (url, app):
        yield Server(url, parts, audited, tokens, hr_source, app)


def _newest(server: Server, action: str) -> dict:
    return server.parts.trail.query(action=action, limit=1)[0]


def test_sign_in_and_out_are_recorded_with_the_address(server: Server):
    with httpx.Client(base_url=server.url) as c:
        bad = c.post("/login", data={"username": "alice", "password": "wrong-pass-1"})
        assert bad.status_code == 401
        failed = _newest(server, "login")
        assert (failed["actor"], failed["outcome"], failed["address"]) == (
            "alice",
            "failed",
            "127.0.0.1",
        )
        good = c.post("/login", data={"username": "alice", "password": PASSWORDS["alice"]})
        assert good.status_code == 303
        assert _newest(server, "login")["outcome"] == "ok", server.parts.trail.query()
        c.post("/logout")
    out = _newest(server, "logout")
    assert (out["actor"], out["address"]) == ("alice", "127.0.0.1")


def test_an_oversized_or_odd_login_form_is_recorded_without_breaking(server: Server):
    with httpx.Client(base_url=server.url) as c:
        r = c.post(
            "/login",
            content=b"username=" + b"x" * 70_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code in (401, 413, 422)
        r = c.post(
            "/login",
            content=b"\xff\xfe%%%",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code < 500
    assert server.parts.trail.verify().ok


def test_each_question_is_recorded_with_its_asker_and_sources(server: Server):
    with server.client("bob") as c:
        r = c.post("/api/ask", json={"question": "What is the payroll code word?"})
        assert r.status_code == 200
    done = json.loads(r.text.splitlines()[-1])
    rec = _newest(server, "ask")
    assert rec["actor"] == "bob" and rec["address"] == "127.0.0.1"
    assert sorted(rec["detail"]["collections"]) == ["documents", "hr-files"]
    returned = [(s["collection"], s["source"]) for s in done["sources"]]
    assert [(s["collection"], s["source"]) for s in rec["detail"]["sources"]] == returned
    assert rec["detail"]["model"] == done["model"]
    assert "question" not in rec["detail"]  # texts only when audit_texts allows


def test_downloads_and_deletions_are_recorded_refusals_too(server: Server, tmp_path: Path):
    query = {"collection": "hr-files", "source": server.hr_source}
    with server.client("alice") as c:
        assert c.get("/api/documents/download", params=query).status_code == 404
    denied = _newest(server, "document.download")
    assert (denied["actor"], denied["outcome"]) == ("alice", "denied")
    with server.client("bob") as c:
        assert c.get("/api/documents/download", params=query).status_code == 200
        ok = _newest(server, "document.download")
        assert (ok["actor"], ok["outcome"], ok["detail"]["source"]) == (
            "bob",
            "ok",
            server.hr_source,
        )
        up = c.post(
            "/api/documents",
            params={"collection": "hr-files"},
            files=[("files", ("memo.md", b"# Memo\n\nThe canteen opens at nine.\n"))],
        )
        assert up.status_code == 200, up.text
        uploaded = _newest(server, "document.upload")
        assert (uploaded["actor"], uploaded["target"]) == ("bob", "hr-files")
        assert uploaded["detail"]["files"] == [{"file": "memo.md", "status": "added", "chunks": 1}]
        gone = c.delete("/api/documents", params=query)
        assert gone.status_code == 200
    deleted = _newest(server, "document.delete")
    assert (deleted["actor"], deleted["target"]) == ("bob", "hr-files")
    assert deleted["detail"]["sources"] == [server.hr_source]
    with server.client("alice") as c:  # a refused deletion is on the trail too
        assert c.delete("/api/documents", params=query).status_code == 404
    refused = _newest(server, "document.delete")
    assert (refused["actor"], refused["outcome"]) == ("alice", "denied")
    assert server.parts.trail.verify().ok


def test_admin_changes_through_the_directory_are_recorded(server: Server):
    server.directory.add_group("auditors")
    assert _newest(server, "group.create")["target"] == "auditors"


def test_questions_through_gradio_and_the_openai_api_name_their_asker(server: Server):
    """The page's Gradio events run on Gradio's own workers: the asker still reaches the
    record (set where the event looks the user up)."""
    import openai
    from gradio_client import Client

    carol = Client(
        server.url, headers={"authorization": f"Bearer {server.tokens['carol']}"}, verbose=False
    )
    carol.predict("When was Llama 2 released?", api_name="/ask")
    rec = _newest(server, "ask")
    assert rec["actor"] == "carol" and rec["detail"]["collections"] == []
    alice = openai.OpenAI(base_url=server.url + "/v1", api_key=server.tokens["alice"])
    alice.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "When was Llama 2 released?"}]
    )
    rec = _newest(server, "ask")
    assert rec["actor"] == "alice" and rec["detail"]["collections"] == ["documents"]
    assert rec["detail"]["sources"], rec
