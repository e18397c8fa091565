"""The chat log: every answer (CLI and web UI) logged, switchable, and turned into a case."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import make_settings

from assistant.answering import Answer, Source
from assistant.chatlog import ChatLog
from assistant.errors import AssistantError
from assistant.evaluation.suite import load_suite
from assistant.factory import Components

OFF_TOPIC = "What is the boiling point of tungsten in kelvin?"
ON_TOPIC = "When was Llama 2 released, and under what licence?"


def _answer(question: str, *sources: str) -> Answer:
    return Answer(
        question=question,
        text="An answer [1].",
        sources=[
            Source(n, f"/docs/{s}", "t", "lines 1-2", "snippet", 0.5, f"c{n}", cited=n == 1)
            for n, s in enumerate(sources, start=1)
        ],
        refused=False,
        model="test-model",
        timings={"total_s": 1.23456},
    )


def test_entries_are_found_newest_first_by_position_or_id(tmp_path):
    log = ChatLog(tmp_path / "chatlog")
    for question in ("first?", "second?", "third?"):
        log.record(_answer(question, "a.md", "b.md"), "documents")
    with next(log.directory.glob("*.jsonl")).open("a") as f:
        f.write('{"truncated": \n')  # a crash mid-write
    assert [e.question for e in log.newest_first()] == ["third?", "second?", "first?"]
    second = log.find(last=2)
    assert second.question == "second?" and log.find(second.id[:6]).question == "second?"
    assert second.sources[0] == {
        "number": 1,
        "source": "/docs/a.md",
        "anchor": "lines 1-2",
        "similarity": 0.5,
        "cited": True,
    }
    assert second.timings == {"total_s": 1.235} and second.collection == "documents"
    with pytest.raises(AssistantError, match="fewer than 4 logged answers"):
        log.find(last=4)
    with pytest.raises(AssistantError, match="no logged answer with id 'zzz'"):
        log.find("zzz")


def test_a_log_that_cannot_be_written_never_breaks_answering(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING):
        ChatLog(blocker / "chatlog").record(_answer("q?"), "documents")
    assert "chat log" in caplog.text and "not written" in caplog.text


@pytest.mark.slow
def test_ask_logs_each_answer_and_eval_add_turns_them_into_cases(tmp_path):
    data = tmp_path / "data"
    asked = run_cli(["ask", "--json", ON_TOPIC], data, ASSISTANT_MAX_ANSWER_TOKENS="48")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert run_cli(["ask", OFF_TOPIC], data).returncode == 0
    [day] = (data / "chatlog").glob("*.jsonl")
    first, second = (json.loads(line) for line in day.read_text().splitlines())
    assert first["question"] == ON_TOPIC and first["answer"] == answer["text"]
    assert [s["source"] for s in first["sources"]] == [s["source"] for s in answer["sources"]]
    assert first["model"] == answer["model"] and first["timings"]["total_s"] > 0
    assert first["collection"] == "documents" and not first["refused"]
    assert second["question"] == OFF_TOPIC and second["refused"] and second["sources"] == []
    listed = run_cli(["eval", "log"], data).stdout.splitlines()
    assert listed[0].startswith(second["id"]) and listed[0].endswith(f"refused  {OFF_TOPIC}")

    suite = tmp_path / "suite.yaml"
    refused = run_cli(["eval", "add", str(suite)], data)
    assert refused.returncode == 1 and "pass --must-refuse if that is right" in refused.stderr
    assert run_cli(["eval", "add", str(suite), "--must-refuse"], data).returncode == 0
    added = run_cli(
        ["eval", "add", str(suite), "--entry", first["id"], "--expect", "July 2023"], data
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith(f"added case 2 at {suite}:")
    first_case, second_case = load_suite(suite).cases
    assert first_case.question == OFF_TOPIC and first_case.must_refuse
    cited = [s for s in first["sources"] if s["cited"]] or first["sources"][:1]
    assert second_case.question == ON_TOPIC and second_case.expect == ("July 2023",)
    assert set(second_case.sources) == {Path(s["source"]).name for s in cited}
    text = suite.read_text()
    assert f"# from chat log entry {second['id']}" in text  # comments survive the next add
    assert f"# from chat log entry {first['id']}" in text

    replay = run_cli(["eval", str(suite), "--retrieval-only"], data)
    assert replay.returncode == 0, replay.stdout + replay.stderr  # the same sources come back


@pytest.mark.slow
def test_the_chat_log_is_off_by_setting(tmp_path):
    result = run_cli(["ask", OFF_TOPIC], tmp_path, ASSISTANT_CHAT_LOG="false")
    assert result.returncode == 0 and not (tmp_path / "chatlog").exists()
    empty = run_cli(["eval", "add", str(tmp_path / "s.yaml"), "--must-refuse"], tmp_path)
    assert empty.returncode == 1 and "is chat_log switched off?" in empty.stderr


@pytest.mark.slow
def test_answers_given_in_the_web_ui_are_logged_too(seeded, tmp_path):
    from ui.app import replies

    parts = Components(make_settings(tmp_path, max_answer_tokens=32))
    parts.store = seeded.store  # the indexed seeds; the log goes to this data dir
    steps = list(replies(parts.assistant, "Who leads FAIR at Meta?", None))
    final = steps[-1].answer
    assert final is not None and steps[-1].error is None
    [entry] = ChatLog(parts.settings.chat_log_dir).newest_first()
    assert entry.question == "Who leads FAIR at Meta?" and entry.answer == final.text
    assert [s["source"] for s in entry.sources] == [s.source for s in final.sources]


def test_entries_name_the_asker_and_only_the_owner_may_read_the_log(tmp_path):
    import os
    import stat
    from datetime import datetime

    old_umask = os.umask(0o022)  # Docker's: files would be 0644, readable by everyone
    try:
        folder = tmp_path / "chatlog"
        folder.mkdir(mode=0o755)
        today = datetime.now().astimezone().date().isoformat()
        (folder / f"{today}.jsonl").write_text("")  # made by an older version: 0644
        log = ChatLog(folder)
        log.record(_answer("alice's question?", "a.md"), "documents", "alice")
        log.record(_answer("bob's question?", "a.md"), "hr-files", "bob")
        files = list(folder.glob("*.jsonl"))
        assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
        new = ChatLog(tmp_path / "fresh")
        new.record(_answer("carol's question?"), "documents", "carol")
        assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700
        assert [f.stat().st_mode & 0o077 for f in (tmp_path / "fresh").iterdir()] == [0]
    finally:
        os.umask(old_umask)
    assert [(e.user, e.question) for e in log.newest_first()] == [
        ("bob", "bob's question?"),
        ("alice", "alice's question?"),
    ]
