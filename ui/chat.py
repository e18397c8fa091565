"""The Chat tab and the `/ask` API: one `Assistant.ask` path for both, streaming.

The collection picker beside the chat chooses which collection a question goes to; the
API keeps its default (the server's collection) unless a client names another.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import gradio as gr  # after `assistant`, whose import switches Gradio's analytics off

from assistant.answering import Answer, Assistant, Source
from assistant.auth.access import Principal, scope
from assistant.conversation import Turn
from assistant.errors import AssistantError
from assistant.feedback import FeedbackLog
from assistant.history import History as ConversationLog
from assistant.store import DocumentQuery, Store
from ui import render
from ui.answer_page import answer_behaviour
from ui.documents import UserOf, collection_names
from ui.feedback import FeedbackHandlers, feedback_row
from ui.flow import Flow
from ui.history import Owner

log = logging.getLogger(__name__)
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
    """What the rest of the page refreshes after documents change, and what the sidebar
    opens conversations in."""

    collection: gr.Dropdown
    docs: gr.HTML
    chatbot: gr.Chatbot
    conversation: gr.State  # the history entry the chat appends to (None: a new one)
    memory: gr.State  # the turns a follow-up continues (ui.flow.Memory)
    last: gr.State  # the last question, for Retry and Edit (ui.flow)
    answered: list[Any] = field(default_factory=list)  # events ending with an answer

    @property
    def outputs(self) -> list[Any]:
        return [self.collection, self.docs]


class ChatHandlers:
    """The chat's answers: one `Assistant.ask` path for the page and the `/ask` API.
    With `user_of` (login on), a question runs only against collections the signed-in user
    may read, all of them by default."""

    def __init__(
        self, assistant: Assistant, store: Store, default: str, user_of: UserOf | None = None
    ) -> None:
        self.assistant, self.store, self.default = assistant, store, default
        self.user_of = user_of

    def user(self, request: gr.Request | None) -> Principal | None:
        return self.user_of(request) if self.user_of and request is not None else None

    def answers(
        self,
        question: str,
        collection: str | None,
        user: Principal | None,
        history: Sequence[Turn] = (),
    ) -> Generator[Reply, None, None]:
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
    owner_of: Owner | None = None,
) -> ChatTab:
    """The bar (collection, model), the chat with per-answer sources and the chosen
    collection's documents beside it. Call inside a `gr.Tab`; registers the `/ask` API
    too. With `feedback`, each answer can be voted on (and commented). `owner_of`: whose
    saved conversations the chat writes to (`log`)."""
    votes = FeedbackHandlers(feedback, user_of) if feedback is not None else None
    handlers = ChatHandlers(assistant, store, default, user_of)
    flow = Flow(
        handlers.answers, assistant.model.name, handlers.user, owner_of or _nobody, log, votes
    )
    collection = _bar(ALL if user_of else default, assistant.model.name)
    with gr.Row(equal_height=False):
        chatbot, box, send, stop = _conversation_column(votes is not None)
        docs, refresh = _documents_column()
    if votes is not None:
        feedback_row(votes, chatbot)
    answer_behaviour()  # the answers' CSS and the script of their links and copy buttons

    states = gr.State(None), gr.State([]), gr.State({}), gr.State({})
    conversation, memory, last, ask = states
    tab = ChatTab(collection, docs, chatbot, conversation, memory, last)
    tab.answered = _wire(flow, tab, box, send, stop, ask)
    gr.api(handlers.ask, api_name="ask", concurrency_id="model")
    update = panel_updater(store, default, user_of)
    refresh.click(update, collection, tab.outputs, api_visibility="private")
    collection.input(handlers.panel, collection, docs, api_visibility="private")
    return tab


def _nobody(_request: gr.Request | None) -> Principal | None:
    return None


def _wire(
    flow: Flow, tab: ChatTab, box: gr.Textbox, send: gr.Button, stop: gr.Button, ask: gr.State
) -> list[Any]:
    """Send/Enter, Retry and Edit each start an answer (`flow.prepare` etc, instant), then
    `flow.chat` streams it in the model's line; Stop stops it. The answering events."""
    private: dict[str, Any] = {"api_visibility": "private"}
    chat, memory, busy = tab.chatbot, tab.memory, [send, stop]
    answer: dict[str, Any] = {
        "fn": flow.chat,
        "inputs": [ask, chat, tab.collection, tab.conversation, memory],
        "outputs": [chat, tab.conversation, memory, tab.last],
        "concurrency_id": "model",
        "show_progress": "minimal",
        **private,  # clients use /ask: plain data, not chat HTML
    }
    instant: dict[str, Any] = {"queue": False, "show_progress": "hidden", **private}
    starts = [
        box.submit(flow.prepare, [box, chat], [chat, box, ask, *busy], **instant),
        send.click(flow.prepare, [box, chat], [chat, box, ask, *busy], **instant),
        chat.retry(flow.retry, [chat, memory, tab.last], [chat, memory, ask, *busy], **instant),
        chat.edit(flow.edit, [chat, memory, tab.last], [chat, memory, ask, *busy], **instant),
    ]
    answered = []
    for start in starts:
        done = start.then(**answer)
        done.then(flow.idle, None, busy, **instant)
        answered.append(done)
    stop.click(flow.stop, None, None, **instant)
    # the chatbot's own Clear (bin) starts afresh too, as "New conversation" does
    chat.clear(lambda: (None, [], {}), None, [tab.conversation, memory, tab.last], **instant)
    return answered


def _bar(first: str, model: str) -> gr.Dropdown:
    """The compact bar above the chat: where questions go, and the model answering."""
    with gr.Row(equal_height=True, elem_id="chat-bar"):
        collection = gr.Dropdown(
            choices=[first],
            value=first,
            label="Collection questions go to",
            elem_id="chat-collection",
            scale=3,
            min_width=200,
        )
        gr.HTML(
            f'<p class="model-in-use">Model: <code>{html.escape(model)}</code></p>',
            elem_id="model-in-use",
            scale=2,
            min_width=160,
        )
    return collection


def _conversation_column(
    votes: bool = False,
) -> tuple[gr.Chatbot, gr.Textbox, gr.Button, gr.Button]:
    """The chat itself, the question box, Send, and Stop (shown while an answer streams)."""
    with gr.Column(scale=3, min_width=300):
        chatbot = gr.Chatbot(
            label="Conversation",
            show_label=False,
            height=560,
            latex_delimiters=[],  # "$" in documents is money, not maths
            feedback_options=("Like", "Dislike") if votes else None,
            buttons=[],  # the answer's own footer copies its text, without the sources
            editable="user",  # only the last question is sent again (ui.flow.edit)
            placeholder="Ask a question about the indexed documents.",
            elem_id="chat",
        )
        with gr.Row(equal_height=True, elem_id="ask-row"):
            box = gr.Textbox(
                label="Question",
                placeholder="Ask a question (Enter sends, Shift+Enter: new line)",
                show_label=False,
                container=False,
                scale=8,
                autofocus=True,
                max_lines=6,
                elem_id="question",
            )
            send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="send")
            stop = gr.Button(
                "Stop", variant="stop", scale=1, min_width=80, visible=False, elem_id="stop"
            )
    return chatbot, box, send, stop


def _documents_column() -> tuple[gr.HTML, gr.Button]:
    """The documents of the collection questions go to."""
    with gr.Column(scale=2, min_width=280, elem_id="documents-column"):
        gr.Markdown("## Indexed documents")
        docs = gr.HTML(elem_id="documents")
        refresh = gr.Button("Refresh", size="sm", elem_id="refresh")
    return docs, refresh


def documents_panel(store: Store, collection: str | None, user: Principal | None = None) -> str:
    """The chat's side panel: each collection's most recent documents, one page at most (a
    department's thousands of files are paged, searched and sorted on the Documents tab)."""
    try:
        if user is not None:  # every readable collection's documents, one table each
            names = scope(user, store, None if collection in (None, "", ALL) else collection)
            if not names:
                return render.note_html("You may not read any collection yet: ask an admin.")
            return "".join(_recent_documents(store, n) for n in names)
        return _recent_documents(store, collection or store.default_collection)
    except AssistantError as exc:
        return render.error_html(render.error_line(exc))


def _recent_documents(store: Store, name: str) -> str:
    page = store.document_page(name, DocumentQuery(sort="date", descending=True))
    html = render.documents_html(page.documents, name)
    if page.total > len(page.documents):
        more = f"The {len(page.documents)} most recent of {page.total:,} documents: the"
        html += render.note_html(f"{more} Documents tab pages through all of them.")
    return html


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
