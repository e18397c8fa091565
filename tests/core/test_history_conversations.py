"""Conversations as data: a database made before follow-ups gains the new column on open
(SQLite and a real PostgreSQL), nothing stored is lost; a conversation is continued,
renamed and exported per user, sources of collections the user can no longer read hidden;
`assistant history` and `assistant ask --conversation` over the same database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, text
from support.cli import run

from assistant.answering import NOT_COVERED, Answer, Source
from assistant.auth import Database, Principal
from assistant.auth.db import Base
from assistant.auth.schema import missing_columns
from assistant.history import History
from assistant.transcript import file_name, to_json, to_markdown


def _answer(question: str, collection: str = "documents", query: str = "") -> Answer:
    src = Source(1, f"/d/{collection}.md", "T", "lines 1-2", "snippet", 0.9, "c1", True, collection)
    answer = Answer(question, f"About {question} [1].", [src], False, "m")
    answer.standalone_query = query
    return answer


def _old_database(url: str) -> None:
    """A database as the previous version left it: no `turns.standalone_query`, one turn."""
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE turns DROP COLUMN standalone_query"))
    assert missing_columns(db.engine, Base.metadata)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO conversations (id, user_name, title, created_at, updated_at)"
                " VALUES ('old1', 'alice', 'Old one', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO turns (conversation_id, question, answer, sources_json, refused,"
                " created_at) VALUES ('old1', 'Old question?', 'Old answer.', '[]', false,"
                " '2026-01-01')"
            )
        )
    db.engine.dispose()


def _check_upgrade(url: str) -> None:
    _old_database(url)
    db = Database(url)  # opening adds the column; a second open has nothing to do
    assert "standalone_query" in {c["name"] for c in inspect(db.engine).get_columns("turns")}
    again = Database(url)
    assert missing_columns(again.engine, Base.metadata) == []
    again.engine.dispose()
    history, alice = History(db), Principal("alice", readable=frozenset({"documents"}))
    old = history.get(alice, "old1")
    assert old["turns"][0]["question"] == "Old question?"
    assert old["turns"][0]["standalone_query"] is None
    history.record(alice, _answer("And then?", query="Old question? And then?"), "old1")
    turns = history.get(alice, "old1")["turns"]
    assert [t["standalone_query"] for t in turns] == [None, "Old question? And then?"]
    db.engine.dispose()


def test_an_old_sqlite_database_gains_the_column_and_keeps_its_rows(tmp_path) -> None:
    _check_upgrade(f"sqlite:///{tmp_path / 'old.sqlite3'}")


@pytest.mark.slow
def test_an_old_postgresql_database_gains_the_column_and_keeps_its_rows(postgres_url) -> None:
    fresh = Database(postgres_url)
    with fresh.engine.begin() as conn:  # a fresh schema for this test
        Base.metadata.drop_all(conn)
    fresh.engine.dispose()
    _check_upgrade(postgres_url)


def test_memory_rename_and_export_are_per_user_and_hide_revoked_sources(tmp_path) -> None:
    history = History(Database(f"sqlite:///{tmp_path / 'h.sqlite3'}"))
    bob = Principal("bob", readable=frozenset({"documents", "hr-files"}))
    conv = history.record(bob, _answer("Pay?", "hr-files"))
    history.record(bob, _answer("And leave?", query="Pay? And leave?"), conv)
    memory = history.memory(bob, conv)
    assert [t.question for t in memory] == ["Pay?", "And leave?"]
    assert memory[0].sources == ("/d/hr-files.md",)
    revoked = Principal("bob", readable=frozenset({"documents"}))
    assert history.memory(revoked, conv)[0].sources == (), "hidden once the grant is gone"
    assert history.memory(Principal("carol"), conv) is None
    assert not history.rename(Principal("carol"), conv, "Mine now")
    assert not history.rename(bob, conv, "   ")
    assert history.rename(bob, conv, "Pay and leave")
    found = history.get(revoked, conv)
    md = to_markdown(found)
    assert md.startswith("# Pay and leave\n") and "## 2. And leave?" in md
    assert "*Searched as:* Pay? And leave?" in md and "hr-files.md" not in md
    assert "- [1] documents.md (lines 1-2) (cited)" in md
    data = json.loads(to_json(found))
    assert data["title"] == "Pay and leave" and len(data["turns"]) == 2
    assert file_name(found, "md") == f"Pay-and-leave-{conv[:8]}.md"


@pytest.mark.slow
def test_history_commands_and_ask_in_a_conversation(tmp_path) -> None:
    # The model's answer with the conversation in its prompt (the packaged model's default
    # style quotes the sources and holds no earlier turn); its words do not matter here.
    short = {"ASSISTANT_MAX_ANSWER_TOKENS": "32", "ASSISTANT_ANSWER_STYLE": "generated"}
    first = run(
        ["ask", "--json", "--conversation", "new", "When did LLaMA 3 come out?"], tmp_path, **short
    )
    assert first.returncode == 0, first.stderr
    conversation = json.loads(first.stdout)["conversation"]
    follow = run(
        ["ask", "--json", "--conversation", conversation, "Which sizes did it come in?"],
        tmp_path,
        **short,
    )
    assert follow.returncode == 0, follow.stderr
    answer = json.loads(follow.stdout)
    assert answer["conversation"] == conversation and answer["turns_used"] == 1
    assert not answer["refused"] and answer["followup"] == "fusion"
    assert run(["ask", "--conversation", "nope", "Hi?"], tmp_path).stderr.endswith(
        "error: no conversation 'nope' (see `assistant history`)\n"
    )
    listed = run(["history"], tmp_path)
    assert listed.returncode == 0 and conversation in listed.stdout and "2 turns" in listed.stdout
    assert run(["history", "rename", conversation, "Sizes"], tmp_path).returncode == 0
    out = tmp_path / "talk.md"
    exported = run(["history", "export", conversation, "-o", str(out)], tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert out.read_text().startswith("# Sizes\n")
    as_json = run(["history", "export", conversation, "--format", "json"], tmp_path)
    assert [t["question"] for t in json.loads(as_json.stdout)["turns"]][1] == (
        "Which sizes did it come in?"
    )
    assert run(["history", "rm", conversation], tmp_path).returncode == 0
    gone = run(["history", "show", conversation], tmp_path)
    assert gone.returncode == 1 and "no conversation" in gone.stderr


@pytest.mark.slow
def test_terminal_chat_keeps_the_thread_and_starts_afresh_on_new(tmp_path) -> None:
    typed = "When did LLaMA 3 come out?\nWhich sizes did it come in?\n/sources\n/new\n"
    typed += "Which sizes did it come in?\n/quit\n"
    result = run(["chat"], tmp_path, input=typed, ASSISTANT_MAX_ANSWER_TOKENS="32")
    assert result.returncode == 0, result.stderr
    # stdout: answer, its sources; the follow-up and its sources; /sources again (with
    # snippets); after /new, the same follow-up alone: refused, so no sources
    blocks = result.stdout.split("Sources:")
    assert len(blocks) == 4, result.stdout
    follow_up_sources = blocks[2]
    assert {"001_5fec047b8f95376e.txt", "004_9034c93824e74505.txt"} & set(
        follow_up_sources.split()
    ), follow_up_sources
    assert NOT_COVERED in blocks[3]
    assert "(new conversation)" in result.stderr
    listed = run(["history"], tmp_path).stdout
    assert "  2 turns  When did LLaMA 3 come out?" in listed, listed
    assert "  1 turns  Which sizes did it come in?" in listed, listed
