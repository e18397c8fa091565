"""The conversation flow of the chat: ask, stop, ask again (Retry), edit the last question.

Each question goes in two steps: `prepare` (not queued, instant) shows the question, clears
the box, swaps Send for Stop and starts the session's `Run`; then `chat` (queued in the
model's line) streams the answer. Stop only sets the run's flag (`ui.runs`): `chat` sees it
after the next piece, closes the model's stream and keeps the partial answer, marked
stopped, in the chat, in the conversation's memory and in the saved conversation.

States: `ask` (what `chat` is to answer: the question and whether it replaces the last
turn) and `last` (the last question and whether its answer became a turn), for Retry/Edit.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

import gradio as gr

from assistant.answering import Answer
from assistant.auth.access import Principal
from assistant.conversation import Turn
from assistant.history import History as ConversationLog
from ui import render
from ui.feedback import FeedbackHandlers
from ui.runs import Run, Runs

History = list[dict[str, Any]]  # Gradio 6 chat messages: {"role": ..., "content": ...}
Memory = list[dict[str, Any]]  # the conversation's turns so far: question, answer, sources
Step = tuple[Any, ...]  # chatbot, conversation, memory, last
# answers(question, collection, user, earlier turns): the Reply steps (ui.chat)
Answers = Callable[[str, str | None, Principal | None, Sequence[Turn]], Generator[Any, None, None]]
STOPPED_HTML = '<div class="answer-stopped" role="status">Stopped: the answer ends here.</div>'
SKIP4 = (gr.skip(), gr.skip(), gr.skip(), gr.skip())


def remembered(answer: Answer) -> dict[str, Any]:
    """A finished answer as a turn of the conversation's memory (plain data, for gr.State)."""
    sources = [{"source": s.source, "cited": s.cited} for s in answer.sources]
    return {"question": answer.question, "answer": answer.text, "sources": sources}


def stopped_message(text: str, sources: list[Any]) -> str:
    """The bubble of a stopped answer: what was written, its sources, the stopped mark."""
    if text:
        shown = render.chat_message(text, sources)
    else:  # stopped before the first word
        shown = render.sources_html(sources, final=True, refused=False) if sources else ""
    return f"{shown}\n\n{STOPPED_HTML}".strip()


def session(request: gr.Request | None) -> str:
    return str(getattr(request, "session_hash", "") or "")


def _last_question(history: History) -> int:
    """The index of the last user message (-1: none)."""
    return max((i for i, m in enumerate(history) if m.get("role") == "user"), default=-1)


def _busy() -> tuple[Any, Any]:
    return gr.update(visible=False), gr.update(visible=True)  # Send, Stop


class Flow:
    """The handlers; `owner_of` names whose saved conversations the chat writes to (the
    signed-in user, or the local user without login), None: nothing is saved."""

    def __init__(
        self,
        answers: Answers,
        model: str,
        user_of: Callable[[gr.Request | None], Principal | None],
        owner_of: Callable[[gr.Request | None], Principal | None],
        log: ConversationLog | None = None,
        votes: FeedbackHandlers | None = None,
    ) -> None:
        self.answers, self.model = answers, model
        self.user_of, self.owner_of = user_of, owner_of
        self.log, self.votes = log, votes
        self.runs = Runs()

    def prepare(self, question: str, history: History, request: gr.Request) -> tuple[Any, ...]:
        """Outputs: chatbot, box, ask, send, stop."""
        question = (question or "").strip()
        if not question or self.runs.start(session(request)) is None:
            return gr.skip(), gr.skip(), {}, gr.skip(), gr.skip()
        shown = [*(history or []), {"role": "user", "content": render.safe_markdown(question)}]
        return shown, "", {"question": question, "replace": False}, *_busy()

    def retry(
        self, history: History, memory: Memory, last: dict[str, Any], request: gr.Request
    ) -> tuple[Any, ...]:
        """Ask the last question again, its answer replaced. Outputs: chatbot, memory,
        ask, send, stop."""
        return self._again(history, memory, last, str((last or {}).get("question", "")), request)

    def edit(
        self,
        history: History,
        memory: Memory,
        last: dict[str, Any],
        data: gr.EditData,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        """Send the edited last question instead of the old one (earlier questions stay
        as they were: their answers are already part of the thread)."""
        at, text = _last_question(history), str(data.value or "").strip()
        if data.index != at or not text:
            restored = [dict(m) for m in history]
            if isinstance(data.index, int) and 0 <= data.index < len(restored):
                restored[data.index]["content"] = data.previous_value
            gr.Info("Only the last question can be edited and sent again.")
            return restored, gr.skip(), {}, gr.skip(), gr.skip()
        return self._again(history, memory, last, text, request)

    def _again(
        self,
        history: History,
        memory: Memory,
        last: dict[str, Any],
        question: str,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        at = _last_question(history or [])
        if at < 0 or not question or self.runs.start(session(request)) is None:
            return gr.skip(), gr.skip(), {}, gr.skip(), gr.skip()
        replace = bool((last or {}).get("answered")) and bool(memory)
        memory = list(memory or [])[:-1] if replace else list(memory or [])
        shown = [*history[:at], {"role": "user", "content": render.safe_markdown(question)}]
        return shown, memory, {"question": question, "replace": replace}, *_busy()

    def stop(self, request: gr.Request) -> None:
        self.runs.stop(session(request))

    def idle(self, request: gr.Request) -> tuple[Any, Any]:
        """Send back, Stop away, once this session's answer is over."""
        if self.runs.get(session(request)) is not None:
            return gr.skip(), gr.skip()
        return gr.update(visible=True), gr.update(visible=False)

    def chat(
        self,
        ask: dict[str, Any] | None,
        history: History,
        collection: str,
        conversation: str | None,
        memory: Memory | None,
        request: gr.Request,
    ) -> Iterator[Step]:
        """Answer `ask` in the conversation: `memory` holds its turns so far, so a follow-up
        is searched and prompted with them; the answer becomes its next turn. Outputs:
        chatbot, conversation, memory, last."""
        key = session(request)
        run = self.runs.get(key)
        question = str((ask or {}).get("question") or "")
        if not question or run is None or run.done.is_set():
            yield SKIP4
            return
        try:
            yield from self._stream(
                run, question, bool((ask or {}).get("replace")), history, collection,
                conversation, list(memory or []), request,
            )  # fmt: skip
        finally:
            self.runs.finish(key, run)

    def _stream(
        self,
        run: Run,
        question: str,
        replace: bool,
        history: History,
        collection: str,
        conversation: str | None,
        memory: Memory,
        request: gr.Request,
    ) -> Iterator[Step]:
        owner = self.owner_of(request)
        turns = [Turn.from_dict(t) for t in memory]
        steps = self.answers(question, collection, self.user_of(request), turns)
        text, sources, finished = "", [], False
        last = {"question": question, "answered": False}
        try:
            for r in [] if run.stop.is_set() else steps:
                if run.stop.is_set():
                    break
                if r.answer is not None or r.error is not None:
                    finished = True
                    yield self._final(r, question, owner, history, conversation, memory, replace)
                    return
                text, sources = r.text, r.sources
                content = render.chat_message(text, sources)
                yield (
                    [*history, {"role": "assistant", "content": content}],
                    conversation,
                    memory,
                    last,
                )
        finally:
            steps.close()  # the model stops computing and frees its line now
            if not finished:  # stopped, or the page went away: keep what was written
                partial = Answer(question, text.strip(), list(sources), False, self.model)
                conversation, memory = self._keep(
                    owner, partial, conversation, memory, replace, True
                )
        last = {"question": question, "answered": True}
        bubble = {"role": "assistant", "content": stopped_message(text.strip(), sources)}
        yield [*history, bubble], conversation, memory, last

    def _final(
        self,
        r: Any,
        question: str,
        owner: Principal | None,
        history: History,
        conversation: str | None,
        memory: Memory,
        replace: bool,
    ) -> Step:
        if r.answer is not None:
            conversation, memory = self._keep(owner, r.answer, conversation, memory, replace)
        content = render.chat_message(
            r.text, r.sources, final=r.answer, error=r.error, model=self.model
        )
        if r.answer is not None and self.votes is not None:
            self.votes.remember(content, r.answer)
        last = {"question": question, "answered": r.answer is not None}
        return [*history, {"role": "assistant", "content": content}], conversation, memory, last

    def _keep(
        self,
        owner: Principal | None,
        answer: Answer,
        conversation: str | None,
        memory: Memory,
        replace: bool,
        stopped: bool = False,
    ) -> tuple[str | None, Memory]:
        """The answer as the conversation's next turn (or instead of its last one)."""
        if self.log is not None and owner is not None:
            conversation = self.log.record(
                owner, answer, conversation, stopped=stopped, replace_last=replace
            )
        return conversation, [*memory, remembered(answer)]
