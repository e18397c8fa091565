"""The Chat tab and the `/ask` API: one `Assistant.ask` path for both, streaming.

The collection picker beside the chat chooses which collection a question goes to; the
API keeps its default (the server's collection) unless a client names another.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import gradio as gr  # after `assistant`, whose import switches Gradio's analytics off

from assistant.answering import Answer, Assistant, Source
from assistant.auth.access import Principal, scope
from assistant.conversation import Turn
from assistant.errors import AssistantError
from assistant.feedback import FeedbackLog
from assistant.history import History as ConversationLog
from assistant.store import Store
from ui import render
from ui.documents import UserOf, collection_names
from ui.feedback import FeedbackHandlers, feedback_row

log = logging.getLogger(__name__)
History = list[dict[str, Any]]  # Gradio 6 chat messages: {"role": ..., "content": ...}
Memory = list[dict[str, Any]]  # the conversation's turns so far: question, answer, sources
ALL = "All my collections"  # with login on, the default: every collection the user may read


@dataclass
class Reply:
    """One step of an answer in progress: the text so far and the sources behind it."""

    text: str
    sources: list[Source] = field(default_factory=list)
    answer: Answer | None = None  # set on the last step
    error: str | None = None

    def to_api(self, model: str) -> dict[str, Any]:
        return {
            "answer": self.text,
            "sources": [{"file": render.file_name(s.source), **asdict(s)} for s in self.sources],
            "refused": bool(self.answer and self.answer.refused),
            "unsupported": [asdict(c) for c in self.answer.unsupported] if self.answer else [],
            "done": self.answer is not None or self.error is not None,
            "error": self.error,
            "model": model,
        }


def replies(
    assistant: Assistant,
    question: str,
    collection: str | None,
    collections: list[str] | None = None,
    history: Sequence[Turn] = (),
    user: str = "",
) -> Iterator[Reply]:
    """Stream an answer as Reply steps; errors end the stream as a one-line message.
    `collections`, when given, are exactly the ones searched (a user's readable ones);
    `history`, the conversation's earlier turns."""
    text, sources = "", []
    try:
        stream = assistant.ask(
            question, collection=collection, collections=collections, history=history, user=user
        )
        sources = stream.sources
        yield Reply(text, sources)
        for piece in stream:
            text += piece
            yield Reply(text, sources)
        answer = stream.result()
        yield Reply(answer.text, answer.sources, answer=answer)
    except AssistantError as exc:
        yield Reply(text, sources, error=render.error_line(exc))
    except Exception as exc:  # a bug: the log gets the traceback, the page one line
        log.exception("answering %r failed", question)
        yield Reply(text, sources, error=f"internal error ({type(exc).__name__}); see the log")


@dataclass
class ChatTab:
    """What the rest of the page refreshes after documents change."""

    collection: gr.Dropdown
    docs: gr.HTML
    chatbot: gr.Chatbot
    conversation: gr.State  # the history entry the chat appends to (None: a new one)
    memory: gr.State | None = None  # the turns a follow-up continues (Memory)

    @property
    def outputs(self) -> list[Any]:
        return [self.collection, self.docs]


class ChatHandlers:
    """The chat's event handlers: one `Assistant.ask` path for the page and the `/ask` API.
    With `user_of` (login on), a question runs only against collections the signed-in user
    may read, all of them by default, and `log` keeps each answer in their history."""

    def __init__(
        self,
        assistant: Assistant,
        store: Store,
        default: str,
        user_of: UserOf | None = None,
        log: ConversationLog | None = None,
        votes: FeedbackHandlers | None = None,
    ) -> None:
        self.assistant, self.store, self.default = assistant, store, default
        self.user_of, self.log = user_of, log
        self.votes = votes  # finished answers are remembered for a like/dislike

    def user(self, request: gr.Request | None) -> Principal | None:
        return self.user_of(request) if self.user_of and request is not None else None

    def answers(
        self,
        question: str,
        collection: str | None,
        user: Principal | None,
        history: Sequence[Turn] = (),
    ) -> Iterator[Reply]:
        name = (collection or "").strip()
        if user is not None:
            try:
                allowed = scope(user, self.store, None if name in ("", ALL) else name)
            except AssistantError as exc:
                yield Reply("", error=render.error_line(exc))
                return
            yield from replies(self.assistant, question, None, allowed, history, user.name)
            return
        # Asking a collection that does not exist would create it, empty: refuse instead.
        name = name or self.default
        if name != self.default and name not in self.store.collections():
            yield Reply("", error=f"no collection named '{name}'")
            return
        yield from replies(self.assistant, question, name, history=history)

    def chat(
        self,
        question: str,
        history: History,
        collection: str,
        conversation: str | None,
        memory: Memory | None,
        request: gr.Request,
    ) -> Iterator[tuple[History, str, str | None, Memory]]:
        """Answer in the conversation: `memory` holds its turns so far, so a follow-up
        is searched and prompted with them; the answer becomes its next turn."""
        question, memory = question.strip(), list(memory or [])
        if not question:
            yield history, "", conversation, memory
            return
        user = self.user(request)
        history = [*history, {"role": "user", "content": render.safe_markdown(question)}]
        turns = [Turn.from_dict(t) for t in memory]
        for r in self.answers(question, collection, user, turns):
            if r.answer is not None:
                memory = [*memory, remembered(r.answer)]
                if self.log is not None and user is not None:
                    conversation = self.log.record(user, r.answer, conversation)
            content = render.chat_message(r.text, r.sources, final=r.answer, error=r.error)
            if r.answer is not None and self.votes is not None:
                self.votes.remember(content, r.answer)
            # "" clears the box
            yield [*history, {"role": "assistant", "content": content}], "", conversation, memory

    def ask(
        self, question: str, collection: str | None = None, request: gr.Request | None = None
    ) -> Iterator[dict[str, Any]]:
        """Answer a question from the indexed documents, streaming; `collection` defaults
        to the server's (with login on: every collection you may read). See the module
        docstring of ui.app."""
        model = self.assistant.model.name
        for r in self.answers(question, collection, self.user(request)):
            yield r.to_api(model)

    def panel(self, name: str | None, request: gr.Request) -> str:
        return documents_panel(self.store, name, self.user(request))


def chat_tab(
    assistant: Assistant,
    store: Store,
    default: str,
    user_of: UserOf | None = None,
    log: ConversationLog | None = None,
    feedback: FeedbackLog | None = None,
) -> ChatTab:
    """The chat with per-answer sources, and the chosen collection's documents beside it.
    Call inside a `gr.Tab`; registers the `/ask` API too. With `feedback`, each answer
    can be voted on (and commented)."""
    votes = FeedbackHandlers(feedback, user_of) if feedback is not None else None
    handlers = ChatHandlers(assistant, store, default, user_of, log, votes)
    with gr.Row(equal_height=False):
        chatbot, box, send, new = _conversation_column(votes is not None)
        collection, docs, refresh = _documents_column(ALL if user_of else default)
    if votes is not None:
        feedback_row(votes, chatbot)

    conversation, memory = gr.State(None), gr.State([])
    chat_event: dict[str, Any] = {
        "fn": handlers.chat,
        "inputs": [box, chatbot, collection, conversation, memory],
        "outputs": [chatbot, box, conversation, memory],
        "api_visibility": "private",  # clients use /ask: plain data, not chat HTML
        "concurrency_id": "model",
        "show_progress": "minimal",
    }
    box.submit(**chat_event)
    send.click(**chat_event)
    gr.api(handlers.ask, api_name="ask", concurrency_id="model")
    tab = ChatTab(collection, docs, chatbot, conversation, memory)
    new.click(
        lambda: ([], None, []), None, [chatbot, conversation, memory], api_visibility="private"
    )
    update = panel_updater(store, default, user_of)
    refresh.click(update, collection, tab.outputs, api_visibility="private")
    collection.input(handlers.panel, collection, docs, api_visibility="private")
    return tab


def remembered(answer: Answer) -> dict[str, Any]:
    """A finished answer as a turn of the conversation's memory (plain data, for gr.State)."""
    sources = [{"source": s.source, "cited": s.cited} for s in answer.sources]
    return {"question": answer.question, "answer": answer.text, "sources": sources}


def _conversation_column(
    votes: bool = False,
) -> tuple[gr.Chatbot, gr.Textbox, gr.Button, gr.Button]:
    """The chat itself, the question box, and a button to start a new conversation."""
    with gr.Column(scale=3):
        chatbot = gr.Chatbot(
            show_label=False,
            height=560,
            latex_delimiters=[],  # "$" in documents is money, not maths
            feedback_options=("Like", "Dislike") if votes else None,
            buttons=["copy"],
            placeholder="Ask a question about the indexed documents.",
        )
        with gr.Row(equal_height=True):
            box = gr.Textbox(
                placeholder="Ask a question and press Enter",
                show_label=False,
                container=False,
                scale=8,
                autofocus=True,
                max_lines=6,
                elem_id="question",
            )
            send = gr.Button("Send", variant="primary", scale=1, min_width=90, elem_id="send")
        new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
    return chatbot, box, send, new


def _documents_column(first: str) -> tuple[gr.Dropdown, gr.HTML, gr.Button]:
    """The collection questions go to, and its documents."""
    with gr.Column(scale=2, min_width=280):
        gr.Markdown("### Indexed documents")
        collection = gr.Dropdown(
            choices=[first],
            value=first,
            label="Collection questions go to",
            elem_id="chat-collection",
        )
        docs = gr.HTML(elem_id="documents")
        refresh = gr.Button("Refresh", size="sm", elem_id="refresh")
    return collection, docs, refresh


def documents_panel(store: Store, collection: str | None, user: Principal | None = None) -> str:
    try:
        if user is not None:  # every readable collection's documents, one table each
            names = scope(user, store, None if collection in (None, "", ALL) else collection)
            if not names:
                return render.note_html("You may not read any collection yet: ask an admin.")
            return "".join(render.documents_html(store.documents(n), n) for n in names)
        name = collection or store.default_collection
        return render.documents_html(store.documents(name), name)
    except AssistantError as exc:
        return render.error_html(render.error_line(exc))


def panel_updater(store: Store, default: str, user_of: UserOf | None = None) -> Any:
    """A handler that refreshes the collection choices (keeping the choice while it
    exists) and the documents panel: after uploads, deletions, or on coming back."""

    def update(current: str | None, request: gr.Request) -> tuple[Any, str]:
        user = user_of(request) if user_of else None
        names = collection_names(store, default, user)
        if user is not None:
            names = [ALL, *names]
        first = ALL if user is not None else default
        name = current if current in names else first
        return gr.update(choices=names, value=name), documents_panel(store, name, user)

    return update
