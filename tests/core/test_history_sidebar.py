"""What the chat page's sidebar and Stop/Retry/Edit need from stored conversations:
searching titles and text, a stopped answer kept and marked, the last turn replaced."""

from __future__ import annotations

from assistant import transcript
from assistant.answering import Answer
from assistant.auth import Database, Principal
from assistant.history import History

ALICE, BOB = Principal("alice"), Principal("bob")


def _history(tmp_path) -> History:  # type: ignore[no-untyped-def]
    return History(Database(f"sqlite:///{tmp_path / 'db.sqlite3'}"))


def _answer(question: str, text: str) -> Answer:
    return Answer(question, text, [], False, "m.gguf")


def test_search_finds_titles_and_the_text_of_turns_newest_first(tmp_path):
    history = _history(tmp_path)
    leave = history.record(ALICE, _answer("How many days of leave?", "Twenty-five days."))
    llama = history.record(ALICE, _answer("When was Llama 2 released?", "In July 2023."))
    history.record(ALICE, _answer("And its licence?", "A community licence, 100% free."), llama)
    history.record(BOB, _answer("How many days of leave?", "Bob's own."))

    assert [c.id for c in history.list(ALICE)] == [llama, leave]  # newest first
    assert [c.id for c in history.list(ALICE, "LEAVE")] == [leave]  # title, any case
    assert [c.id for c in history.list(ALICE, "community licence")] == [llama]  # a later answer
    assert [c.id for c in history.list(ALICE, "july")] == [llama]
    assert history.list(ALICE, "100%") and not history.list(ALICE, "1%0")  # % is literal
    assert history.list(ALICE, "_") == []  # so is _: no title or text holds one
    assert history.list(ALICE, "Bob's") == []  # never another user's
    assert [c.id for c in history.list(ALICE, "   ")] == [llama, leave]  # blank: all


def test_a_stopped_answer_is_kept_marked_and_exported_so(tmp_path):
    history = _history(tmp_path)
    conv = history.record(ALICE, _answer("Tell me about Llama", "Llama is a fam"), stopped=True)
    turn = history.get(ALICE, conv)["turns"][0]
    assert turn["stopped"] and turn["answer"] == "Llama is a fam"
    md = transcript.render(history.get(ALICE, conv), "md")
    assert "Stopped by the asker" in md
    history.record(ALICE, _answer("More?", "Yes."), conv)
    assert not history.get(ALICE, conv)["turns"][1]["stopped"]


def test_replace_last_swaps_the_last_turn_only(tmp_path):
    history = _history(tmp_path)
    conv = history.record(ALICE, _answer("First?", "One."))
    history.record(ALICE, _answer("Second?", "Two, stopped"), conv, stopped=True)
    assert history.record(ALICE, _answer("Second, edited?", "Two."), conv, replace_last=True)
    turns = history.get(ALICE, conv)["turns"]
    assert [(t["question"], t["answer"], t["stopped"]) for t in turns] == [
        ("First?", "One.", False),
        ("Second, edited?", "Two.", False),
    ]
    assert history.get(ALICE, conv)["title"] == "First?"  # the first question stays
    alone = history.record(ALICE, _answer("Typo questoin?", "Hm."))
    history.record(ALICE, _answer("Typo question?", "Yes."), alone, replace_last=True)
    assert history.get(ALICE, alone)["title"] == "Typo question?"  # its only question, edited
    history.rename(ALICE, alone, "Mine")
    history.record(ALICE, _answer("Again?", "Yes."), alone, replace_last=True)
    assert history.get(ALICE, alone)["title"] == "Mine"  # a title given by hand stays
    # someone else's conversation is never touched: bob gets a new one
    other = history.record(BOB, _answer("Mine?", "Yes."), conv, replace_last=True)
    assert other != conv and len(history.get(ALICE, conv)["turns"]) == 2
