"""The audit trail in a real SQLite database: the hash chain catches an edited, inserted or
deleted record, a purge is told apart from a deletion, two writers keep one chain, and
`assistant audit` reads, verifies, filters and exports it as a person runs it."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from support.cli import run

from assistant.audit import Trail, acting_as
from assistant.audit.directory import AuditedDirectory
from assistant.audit.trail import GENESIS
from assistant.auth import Database
from assistant.errors import AssistantError


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "assistant.sqlite3"


@pytest.fixture
def trail(db_path: Path) -> Trail:
    return Trail(Database(f"sqlite:///{db_path}"))


def _sql(db_path: Path, statement: str, *args: object) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute(statement, args)


def _fill(trail: Trail, n: int = 5) -> None:
    for i in range(n):
        trail.record("ask", "documents", actor="alice", address="10.0.0.7", question_no=i)


def test_records_chain_and_verify(trail: Trail):
    _fill(trail)
    verdict = trail.verify()
    assert verdict.ok and verdict.records == 5
    rows = trail.query()
    assert [r["id"] for r in rows] == [5, 4, 3, 2, 1]  # newest first
    assert rows[-1]["prev_hash"] == GENESIS and rows[0]["hash"] == verdict.head
    assert all(rows[i]["prev_hash"] == rows[i + 1]["hash"] for i in range(4))
    assert rows[0]["detail"] == {"question_no": 4} and rows[0]["address"] == "10.0.0.7"


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE audit_records SET actor = 'mallory' WHERE id = 3", "record 3 was edited"),
        ("UPDATE audit_records SET detail = '{}' WHERE id = 5", "record 5 was edited"),
        ("DELETE FROM audit_records WHERE id = 3", "records 3 to 3 were deleted"),
        ("DELETE FROM audit_records WHERE id = 1", "no purge record explains"),
    ],
)
def test_verify_finds_an_edited_or_deleted_record(
    trail: Trail, db_path: Path, tamper: str, problem: str
):
    _fill(trail)
    _sql(db_path, tamper)
    verdict = trail.verify()
    assert not verdict.ok
    assert problem in verdict.problem


def test_a_record_rewritten_with_its_hash_still_breaks_the_next_link(trail: Trail, db_path: Path):
    """Recomputing the edited record's own hash does not help: the next one names the old."""
    from assistant.audit.trail import AuditRecord, chain_hash

    _fill(trail)
    with trail.db.session.begin() as s:
        rec = s.get(AuditRecord, 2)
        rec.actor = "mallory"
        rec.hash = chain_hash(rec)
    verdict = trail.verify()
    assert not verdict.ok and "record 3 does not chain onto record 2" in verdict.problem


def test_purge_keeps_the_chain_verifiable(trail: Trail, db_path: Path):
    _fill(trail, 4)
    _sql(db_path, "UPDATE audit_records SET at = '2020-01-01 00:00:00' WHERE id <= 2")
    assert trail.purge(30) == 2
    verdict = trail.verify()
    assert verdict.ok, verdict.problem
    purge = trail.query(action="audit.purge")[0]
    assert purge["detail"]["removed"] == 2 and [r["id"] for r in trail.query()] == [5, 4, 3]
    # Deleting the oldest kept record now is a deletion, not a purge.
    _sql(db_path, "DELETE FROM audit_records WHERE id = 3")
    assert not trail.verify().ok


def test_two_writers_keep_one_chain(db_path: Path):
    """The server and a CLI command append at once: each collision retries on the new head."""
    writers = [Trail(Database(f"sqlite:///{db_path}")) for _ in range(2)]

    def append(t: Trail, who: str) -> None:
        for i in range(40):
            t.record("ask", "documents", actor=who, n=i)

    threads = [threading.Thread(target=append, args=(t, f"w{i}")) for i, t in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    verdict = writers[0].verify()
    assert verdict.ok and verdict.records == 80, verdict.problem


def test_the_current_actor_is_recorded_by_default(trail: Trail):
    trail.record("first")  # no actor set: the operating-system user on the command line
    assert trail.query()[0]["actor"].startswith("cli:")

    def in_request() -> None:
        acting_as("alice", "192.0.2.9")
        trail.record("document.download", "documents/a.pdf")

    t = threading.Thread(target=in_request)
    t.start()
    t.join()
    newest = trail.query(limit=1)[0]
    assert (newest["actor"], newest["address"]) == ("alice", "192.0.2.9")


def test_query_filters(trail: Trail):
    trail.record("login", "alice", actor="alice")
    trail.record("login", "bob", actor="bob", outcome="failed")
    trail.record("document.download", "hr/pay.md", actor="bob")
    assert [r["target"] for r in trail.query(user="bob")] == ["hr/pay.md", "bob"]
    assert [r["action"] for r in trail.query(action="document")] == ["document.download"]
    assert trail.query(action="login_")[:1] == []  # a prefix, not a LIKE pattern


def test_every_directory_change_is_recorded_with_its_outcome(db_path: Path):
    db = Database(f"sqlite:///{db_path}")
    trail = Trail(db)
    d = AuditedDirectory(db, trail)
    d.add_user("alice", "alice-pass-1", groups=["staff"])
    d.grant("staff", "handbook", "owner")
    token = d.create_token("alice", "laptop")
    d.revoke_token("alice", "laptop")
    with pytest.raises(AssistantError):
        d.add_user("alice", "alice-pass-2")
    d.set_admin("alice", True)
    d.remove_user("alice")
    rows = list(reversed(trail.query()))
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("user.create", "ok"),
        ("grant.set", "ok"),
        ("token.create", "ok"),
        ("token.revoke", "ok"),
        ("user.create", "failed"),
        ("user.admin", "ok"),
        ("user.delete", "ok"),
    ]
    assert rows[1]["detail"] == {"group": "staff", "role": "owner"}
    assert "exists already" in rows[4]["detail"]["reason"]
    raw = json.dumps(rows)
    assert token not in raw and "alice-pass-1" not in raw  # no secret lands on the trail


def test_cli_lists_verifies_and_exports(tmp_path: Path):
    env = {"ASSISTANT_AUDIT": "true"}
    added = run(["users", "add", "root", "--admin"], tmp_path, input="root-pass-1\n", **env)
    assert added.returncode == 0, added.stderr
    run(["groups", "add", "staff"], tmp_path, **env)
    listed = run(["audit", "--json"], tmp_path, **env)
    assert listed.returncode == 0, listed.stderr
    actions = [r["action"] for r in json.loads(listed.stdout)]
    assert actions == ["group.create", "user.create"]
    assert run(["audit", "--action", "group"], tmp_path).stdout.count("group.create") == 1
    assert "no matching records" in run(["audit", "--user", "nobody"], tmp_path).stdout
    assert run(["audit", "--since", "1d"], tmp_path).stdout.count("\n") == 2
    bad = run(["audit", "--since", "yesterday"], tmp_path)
    assert bad.returncode == 1 and "--since 'yesterday'" in bad.stderr

    ok = run(["audit", "verify"], tmp_path)
    assert ok.returncode == 0 and "ok: 2 records" in ok.stdout
    out = tmp_path / "siem.jsonl"
    assert run(["audit", "export", str(out)], tmp_path).returncode == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["action"] for r in lines] == ["user.create", "group.create"]
    assert lines[1]["prev_hash"] == lines[0]["hash"]

    _sql(tmp_path / "assistant.sqlite3", "UPDATE audit_records SET target = 'x' WHERE id = 1")
    broken = run(["audit", "verify"], tmp_path)
    assert broken.returncode == 1 and "record 1 was edited" in broken.stderr


def test_cli_purge_needs_a_retention(tmp_path: Path):
    none = run(["audit", "purge"], tmp_path)
    assert none.returncode == 1 and "ASSISTANT_AUDIT_RETENTION_DAYS" in none.stderr
    done = run(["audit", "purge"], tmp_path, ASSISTANT_AUDIT_RETENTION_DAYS="30")
    assert done.returncode == 0 and "removed 0 records" in done.stdout


def test_recording_is_off_by_default(tmp_path: Path):
    run(["users", "add", "root", "--admin"], tmp_path, input="root-pass-1\n")
    assert run(["audit", "--json"], tmp_path).stdout.strip() == "[]"


def test_uploads_and_deletions_name_who_made_them(tmp_path: Path):
    """As the web page runs them: the upload's worker thread still knows the uploader."""
    from dataclasses import replace
    from functools import partial

    from conftest import make_settings

    from assistant.cli.wiring import index_files
    from assistant.factory import Components
    from assistant.uploads import Uploads, delete_documents, run, screen

    parts = Components(make_settings(tmp_path / "data", audit=True))
    uploads = Uploads.from_settings(parts.settings, partial(index_files, parts))
    uploads = replace(uploads, on_event=parts.trail.record)
    memo = tmp_path / "memo.md"
    memo.write_text("# Memo\n\nThe canteen opens at nine.\n")

    def as_erin() -> None:
        acting_as("erin", "10.1.2.3")
        for _ in run(screen([memo], uploads), "notes", uploads):
            pass
        source = parts.store.documents("notes")[0].source
        delete_documents(parts.store, uploads, [source, "/not/there.md"], "notes")

    t = threading.Thread(target=as_erin)
    t.start()
    t.join()
    deleted, uploaded = parts.trail.query(action="document")
    assert (uploaded["actor"], uploaded["address"], uploaded["target"]) == (
        "erin",
        "10.1.2.3",
        "notes",
    )
    assert uploaded["detail"]["files"][0]["status"] == "added"
    assert deleted["actor"] == "erin" and deleted["detail"]["sources"][1] == "/not/there.md"


def test_a_trail_that_cannot_be_written_refuses_with_one_line(trail: Trail, db_path: Path):
    _fill(trail, 1)
    conn = sqlite3.connect(db_path, timeout=0)
    conn.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    try:
        with pytest.raises(AssistantError, match="the audit trail cannot be written: database"):
            trail.record("ask", "documents", actor="alice")
    finally:
        conn.rollback()
        conn.close()
    trail.record("ask", "documents", actor="alice")  # and works again afterwards
    assert trail.verify().ok and trail.verify().records == 2
