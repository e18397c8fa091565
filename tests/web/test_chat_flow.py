"""The chat's Stop, Retry and Edit handlers (`ui.flow`) driven without a browser, over the
real assistant and packaged model and a real conversations database.

The engine counts the chunks it produces as it produces them (`tokens_generated`). It
computes ahead of what the page has read, so "the model stopped computing" is: within a
few chunks of the Stop (an answer that ran on would reach its 256-token limit), nothing
more afterwards, and the model's slot free at once."""

from __future__ import annotations

import gradio as gr
import pytest

from assistant.auth import LOCAL, Database
from assistant.factory import Components
from assistant.history import History
from ui.chat import ChatHandlers
from ui.flow import STOPPED_HTML, Flow
from ui.runs import Runs

QUESTION = "When was Llama 2 released, and under what licence?"


def _request(session: str = "s1") -> gr.Request:
    return gr.Request(session_hash=session)


def _flow(parts: Components, history: History | None = None) -> Flow:
    handlers = ChatHandlers(parts.assistant, parts.store, parts.store.default_collection)
    owner = (lambda _r: LOCAL) if history is not None else (lambda _r: None)
    return Flow(handlers.answers, parts.assistant.model.name, handlers.user, owner, history)


def _start(flow: Flow, question: str = QUESTION, session: str = "s1"):  # type: ignore[no-untyped-def]
    """`prepare` then the answering generator, as Enter does."""
    shown, box, ask, _send, _stop = flow.prepare(question, [], _request(session))
    assert box == "" and ask == {"question": question, "replace": False}
    return flow.chat(ask, shown, "", None, [], _request(session))


def _lock_is_free(model: object) -> bool:
    """Take and give back the model's lock from another thread, without waiting in line."""
    lock = model.queue  # type: ignore[attr-defined]
    return bool(lock.busy == 0 and lock.waiting == 0)


RUN_ON = 12  # chunks the engine may produce between a Stop and its next callback


def test_runs_allow_one_answer_per_page_and_stop_only_a_running_one():
    runs = Runs()
    run = runs.start("a")
    assert run is not None and runs.start("a") is None  # a second Enter mid-answer
    assert runs.start("b") is not None  # another page is another line
    assert runs.stop("a") and run.stop.is_set()
    runs.finish("a", run)
    assert not runs.stop("a") and runs.start("a") is not None


def test_edit_of_an_earlier_question_is_refused_and_the_message_restored(tmp_path):
    flow = Flow(lambda *a: iter(()), "m", lambda r: None, lambda r: None)  # type: ignore[arg-type,return-value]
    history = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "one"},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": "two"},
    ]
    edited = [dict(m) for m in history]
    edited[0]["content"] = "changed"
    data = gr.EditData(None, {"index": 0, "value": "changed", "previous_value": "first"})
    shown, _memory, ask, *_ = flow.edit(edited, [], {"question": "second"}, data, _request())
    assert shown == history and ask == {}
    data = gr.EditData(None, {"index": 2, "value": "second, better", "previous_value": "second"})
    memory = [{"question": "first"}, {"question": "second"}]
    shown, kept, ask, *_ = flow.edit(
        history, memory, {"question": "second", "answered": True}, data, _request()
    )
    assert shown == [*history[:2], {"role": "user", "content": "second, better"}]
    assert kept == memory[:1] and ask == {"question": "second, better", "replace": True}


@pytest.mark.slow
def test_stop_ends_generation_frees_the_lock_and_keeps_the_partial_answer(seeded, tmp_path):
    history = History(Database(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    flow, model = _flow(seeded, history), seeded.assistant.model
    steps = _start(flow)
    before = model.tokens_generated
    texts = []
    for chat, _conv, _memory, _last in steps:
        texts.append(chat[-1]["content"])
        if model.tokens_generated - before >= 4:  # a few words written
            break
    assert not _lock_is_free(model)  # mid-answer: the model is held
    at_stop = model.tokens_generated
    flow.stop(_request())
    chat, conversation, memory, last = list(steps)[-1]
    generated = model.tokens_generated
    assert _lock_is_free(model), "Stop frees the model for the next in line at once"
    assert generated - at_stop <= RUN_ON, "the model stopped computing when asked (no run-on)"
    assert STOPPED_HTML in chat[-1]["content"] and last == {"question": QUESTION, "answered": True}
    turn = history.get(LOCAL, conversation)["turns"][0]
    assert turn["stopped"] and turn["question"] == QUESTION and turn["answer"]
    assert turn["answer"] in memory[0]["answer"] and memory[0]["question"] == QUESTION
    assert model.tokens_generated == generated  # nothing more was computed afterwards


@pytest.mark.slow
def test_closing_the_stream_as_gradio_does_keeps_the_partial_answer(seeded, tmp_path):
    """Gradio closes the generator when a page goes away: same outcome as Stop, no reply."""
    history = History(Database(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    flow, model = _flow(seeded, history), seeded.assistant.model
    steps = _start(flow, session="gone")
    before = model.tokens_generated
    for _ in steps:
        if model.tokens_generated - before >= 3:
            break
    at_close = model.tokens_generated
    steps.close()
    assert _lock_is_free(model) and model.tokens_generated - at_close <= RUN_ON
    (info,) = history.list(LOCAL)
    assert history.get(LOCAL, info.id)["turns"][0]["stopped"]
    assert flow.runs.get("gone") is None  # the page may ask again


@pytest.mark.slow
def test_stop_before_the_answer_starts_never_asks_the_model(seeded):
    """Stopped while still in the queue: when its turn comes, it ends at once."""
    flow, model = _flow(seeded), seeded.assistant.model
    steps = _start(flow, session="queued")
    flow.stop(_request("queued"))
    before = model.tokens_generated
    chat, conversation, _memory, _last = list(steps)[-1]
    assert model.tokens_generated == before and conversation is None
    assert chat[-1]["content"].endswith(STOPPED_HTML)


@pytest.mark.slow
def test_retry_asks_again_and_replaces_the_last_answer(seeded, tmp_path):
    history = History(Database(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    flow = _flow(seeded, history)
    chat, conversation, memory, last = list(_start(flow))[-1]
    assert last == {"question": QUESTION, "answered": True} and len(memory) == 1
    shown, kept, ask, _send, _stop = flow.retry(chat, memory, last, _request())
    assert shown == chat[:1] and kept == [] and ask == {"question": QUESTION, "replace": True}
    chat, conversation2, memory, last = list(
        flow.chat(ask, shown, "", conversation, kept, _request())
    )[-1]
    assert conversation2 == conversation and len(chat) == 2 and len(memory) == 1
    turns = history.get(LOCAL, conversation)["turns"]
    assert [t["question"] for t in turns] == [QUESTION]
