"""The question's length is capped in the core, so every way in (web chat, its API, /api,
/v1, CLI) refuses the same way before anything is searched or logged; the question is
tokenized once per request, not once per candidate chunk."""

from __future__ import annotations

import pytest

import assistant.retrieval as retrieval
from assistant.errors import AssistantError
from assistant.factory import Components


def test_an_over_long_question_is_refused_before_search_and_log(seeded: Components):
    a = seeded.assistant
    logged: list[str] = []
    before, a.on_answer = a.on_answer, lambda answer, *_: logged.append(answer.question)
    try:
        too_long = "When was Llama 2 released? " * 200  # 5,400 characters
        assert len(too_long) > seeded.settings.max_question_chars == 4000
        with pytest.raises(AssistantError, match="max_question_chars"):
            a.ask(too_long)
        assert logged == []
        a.ask("x" * 3990).result()  # at the limit it is answered (refused: off-topic)
        assert len(logged) == 1
    finally:
        a.on_answer = before


def test_the_question_is_tokenized_once_per_request(
    seeded: Components, monkeypatch: pytest.MonkeyPatch
):
    r = seeded.retriever
    collection = seeded.store.default_collection
    question = "What licence did Meta release Llama 2 under, and when?"
    r.retrieve(question)  # builds the BM25 index (which tokenizes every chunk once)
    calls: list[str] = []
    real = retrieval.tokenize

    def counting(text: str) -> list[str]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(retrieval, "tokenize", counting)
    hits = r.retrieve_many(question, [collection, collection], k=4).hits
    assert hits  # the keyword side ran: candidates were checked for coverage
    # the question once, and no chunk text: the keyword index says which terms each holds
    assert calls == [question]


def test_admission_bounds_the_line_and_each_users_share():
    from assistant.admission import Admission, LineFull, TooManyOfYours

    line = Admission(max_in_flight=3, per_user=2)
    line.enter("alice")
    line.enter("alice")
    with pytest.raises(TooManyOfYours):
        line.enter("alice")
    line.enter("bob")
    with pytest.raises(LineFull) as full:
        line.enter("carol")
    assert full.value.place == 4 and full.value.retry_after > 0
    line.leave("alice")
    line.enter("carol")  # a place came free
    for user in ("alice", "bob", "carol"):
        line.leave(user)
    assert line.in_flight == 0


def test_the_web_chat_queue_has_the_same_bound(seeded: Components):
    from ui.app import build_app

    blocks = build_app(seeded.assistant, seeded.store, queue_max=7)
    assert blocks._queue.max_size == 7  # Gradio tells the 8th waiter the queue is full
