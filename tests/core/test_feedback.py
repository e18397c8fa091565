"""Feedback on answers: stored per user in the users database, listed with filters (admins
see all, users their own), and turned into a suite case by `eval add --from-feedback`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import inspect, text
from support.cli import run

from assistant.answering import Answer, Source
from assistant.auth import Database, Principal
from assistant.errors import AssistantError
from assistant.evaluation.suite import load_suite
from assistant.feedback import FeedbackLog, answer_record

ALICE, BOB = Principal("alice"), Principal("bob")
ADMIN = Principal("root", is_admin=True)


def _answer(question: str, collection: str = "documents") -> Answer:
    src = Source(
        1,
        "/d/001.txt",
        "Llama",
        "line 9",
        "LLaMA 2 (July 2023)",
        0.8,
        "c1",
        cited=True,
        collection=collection,
    )
    return Answer(question, "Llama 2 was released in April 2025 [1].", [src], False, "m.gguf")


def test_votes_are_kept_per_user_and_listed_with_filters(tmp_path):
    log = FeedbackLog(Database(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    down = log.add(
        ALICE, "down", answer_record(_answer("When was Llama 2 released?")), "wrong year"
    )
    log.add(ALICE, "up", answer_record(_answer("Who is the MD?", "hr-files")))
    log.add(BOB, "down", answer_record(_answer("What licence?")))

    assert [f.question for f in log.list(ALICE)] == ["Who is the MD?", "When was Llama 2 released?"]
    assert len(log.list(ADMIN)) == 3 and len(log.list(None)) == 3
    assert [f.user for f in log.list(ADMIN, vote="down")] == ["bob", "alice"]
    assert [f.question for f in log.list(ADMIN, collection="hr-files")] == ["Who is the MD?"]
    assert log.list(ADMIN, since=datetime.now() + timedelta(days=1)) == []
    kept = log.get(down.id)
    assert kept.comment == "wrong year" and kept.model == "m.gguf"
    assert kept.sources[0]["source"] == "/d/001.txt" and kept.collection == "documents"
    with pytest.raises(AssistantError, match="no feedback"):
        log.get(down.id, BOB)  # someone else's
    assert log.comment(BOB, down.id, "mine now") is None
    assert log.comment(ALICE, down.id, "year is 2023").comment == "year is 2023"
    with pytest.raises(AssistantError, match="'up' or 'down'"):
        log.add(ALICE, "meh", {})  # type: ignore[arg-type]


def test_the_table_is_added_to_an_existing_database_without_touching_the_rest(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS feedback"))  # as made before feedback existed
        conn.execute(
            text(
                "INSERT INTO users (name, password_hash, is_admin, created_at)"
                " VALUES ('x', 'h', 0, '2026-01-01 00:00:00')"
            )
        )
    assert "feedback" not in inspect(db.engine).get_table_names()
    log = FeedbackLog(Database(url))
    assert "feedback" in inspect(log.db.engine).get_table_names()
    log.add(ALICE, "up", {"question": "q", "answer": "a"})
    with log.db.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM users")).scalars().all() == ["x"]


def test_feedback_command_lists_and_eval_add_turns_a_vote_into_a_case(tmp_path):
    data = tmp_path / "data"
    log = FeedbackLog(Database(f"sqlite:///{data / 'assistant.sqlite3'}"))
    wrong = log.add(ALICE, "down", answer_record(_answer("When was Llama 2 released?")), "no")
    log.add(BOB, "up", answer_record(_answer("What licence?")))

    listed = run(["feedback", "--down", "--json"], data)
    assert listed.returncode == 0, listed.stderr
    assert [f["id"] for f in json.loads(listed.stdout)] == [wrong.id]
    plain = run(["feedback"], data)
    assert "When was Llama 2 released?" in plain.stdout and "comment: no" in plain.stdout
    assert run(["feedback", "--since", "yesterday"], data).stderr.startswith("error: --since")

    suite = tmp_path / "suite.yaml"
    added = run(
        ["eval", "add", str(suite), "--from-feedback", str(wrong.id), "--expect", "July 2023"],
        data,
    )
    assert added.returncode == 0, added.stderr
    case = load_suite(suite).cases[-1]
    assert case.question == "When was Llama 2 released?"
    assert case.expect == ("July 2023",) and case.sources == ("001.txt",)
    assert (
        f"feedback {wrong.id}" in suite.read_text() and "voted down by alice" in suite.read_text()
    )
    missing = run(["eval", "add", str(suite), "--from-feedback", "999"], data)
    assert missing.returncode == 1 and "no feedback with id 999" in missing.stderr


def test_the_chats_like_and_dislike_store_the_answer_shown_and_a_comment(tmp_path):
    import gradio as gr

    from ui.feedback import FeedbackHandlers

    log = FeedbackLog(Database(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    votes = FeedbackHandlers(log)  # login off: the one local user
    answer = _answer("When was Llama 2 released?")
    shown = "Llama 2 was released in April 2025 [1].<details>sources</details>"
    votes.remember(shown, answer)
    history = [
        {"role": "user", "content": "When was Llama 2 released?"},
        {"role": "assistant", "content": shown},
        {"role": "user", "content": "And <b>Llama 1</b>?"},
        {"role": "assistant", "content": "Feb 2023 <details>x</details>"},  # not remembered
    ]
    first, note = votes.vote(
        history, gr.LikeData(None, {"index": 1, "value": shown, "liked": False}), None
    )
    assert first is not None and "not helpful" in note
    kept = log.get(first)
    assert (kept.user, kept.vote, kept.model) == ("local", "down", "m.gguf")
    assert kept.sources[0]["anchor"] == "line 9" and kept.answer == answer.text

    second, _ = votes.vote(
        history, gr.LikeData(None, {"index": 3, "value": "", "liked": True}), None
    )
    restarted = log.get(second)  # an answer from before a restart: what the page showed
    assert (restarted.question, restarted.answer, restarted.vote) == (
        "And Llama 1 ?",
        "Feb 2023 x",
        "up",
    )

    box, status = votes.comment("The year is 2023", first, None)
    assert box == "" and "saved" in status and log.get(first).comment == "The year is 2023"
    assert "Vote on an answer first" in votes.comment("hi", None, None)[1]
