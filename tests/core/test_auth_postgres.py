"""The same directory and history on a real PostgreSQL, selected by `database_url` alone.

A throwaway cluster (Debian's PostgreSQL 15, run as the `postgres` user) listens on a Unix
socket in a temporary folder only: no TCP port, nothing on the network.
"""

from __future__ import annotations

import pytest

from assistant.answering import Answer, Source
from assistant.auth import Database, Directory, Principal
from assistant.feedback import FeedbackLog, answer_record
from assistant.history import History

pytestmark = pytest.mark.slow


def test_directory_and_history_work_on_postgresql(postgres_url: str):
    db = Database(postgres_url)
    assert db.engine.dialect.name == "postgresql"
    directory = Directory(db)
    directory.add_user("alice", "alice-pass-1", groups=["hr"])
    directory.grant("hr", "hr-files", "owner")
    token = directory.create_token("alice", "laptop")
    alice = directory.authenticate("alice", "alice-pass-1")
    assert alice.can_write("hr-files") and directory.by_token(token).name == "alice"
    session = directory.open_session("alice", hours=1)
    assert directory.by_session(session).name == "alice"
    assert [u.name for u in directory.users()] == ["alice"]

    history = History(db)
    src = Source(1, "/d/pay.md", "Pay", "lines 1-2", "s", 0.9, "c1", collection="hr-files")
    conv = history.record(alice, Answer("Pay?", "It is [1].", [src], False, "m"))
    assert history.get(alice, conv)["turns"][0]["sources"][0]["collection"] == "hr-files"
    assert history.get(Principal("bob"), conv) is None
    feedback = FeedbackLog(db)  # its table is created on open, on PostgreSQL too
    vote = feedback.add(alice, "down", answer_record(Answer("Pay?", "No [1].", [src], False, "m")))
    assert [f.id for f in feedback.list(Principal("root", is_admin=True), vote="down")] == [vote.id]
    assert feedback.list(Principal("bob")) == []
    assert feedback.list(alice, collection="hr-files")[0].sources[0]["source"] == "/d/pay.md"
    directory.remove_user("alice")  # cascades to tokens and sessions
    assert directory.by_token(token) is None and directory.by_session(session) is None
    assert history.delete(alice, conv)
