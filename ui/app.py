"""The web UI, in Gradio 6: a streaming chat over the indexed documents (`ui.chat`, with
Stop/Retry/Edit in `ui.flow`), the conversations in a sidebar beside it (`ui.sidebar`), and
a Documents tab to upload, list and delete them (`ui.documents`, `assistant.uploads`).

The page and the API endpoint run the same `Assistant.ask` path, so what people see is
what clients get and what the tests check.

Calling the API (the endpoint is named `ask`; it takes the question and optionally a
collection, the server's by default, and yields a dict)::

    from gradio_client import Client

    client = Client("http://127.0.0.1:7860/")
    reply = client.predict("When was Llama 2 released?", api_name="/ask")
    reply["answer"], reply["refused"], [s["file"] for s in reply["sources"]]
    client.predict("How many days of leave?", "hr", api_name="/ask")  # collection `hr`

    job = client.submit("When was Llama 2 released?", api_name="/ask")
    for partial in job:  # streaming: the same dict, the answer growing
        print(partial["answer"])

Every reply has: answer, sources (number, file, source, title, anchor, snippet,
similarity, cited), refused, done, error (one line, or None), model. Chat and API share one
queue (`concurrency_id="model"`, limit: the embedded engine's slots, else 1): that many
answers are generated at once, so concurrent users wait in line instead of failing.
Uploads and deletions share
another slot (`concurrency_id="ingest"`), so chat keeps answering while files are indexed.

Uploading is on when `build_app` gets `uploads` (`assistant.uploads.Uploads`): ui/ must not import
ingest/, so the composition root (`assistant serve`) injects the function that ingests.
"""

from __future__ import annotations

from typing import Any

import gradio as gr  # after `assistant`, whose import switches Gradio's analytics off

from assistant.answering import Assistant
from assistant.auth.access import LOCAL, Principal
from assistant.feedback import FeedbackLog
from assistant.history import History
from assistant.store import Store
from assistant.uploads import Uploads
from ui.chat import Reply, chat_tab, panel_updater, replies
from ui.doclist import CSS as DOCLIST_CSS
from ui.documents import UserOf, documents_tab
from ui.layout import KEYS_JS, LAYOUT_CSS
from ui.sidebar import sidebar, user_menu_html, wire
from ui.theme import THEME, THEME_CSS

__all__ = ["CSS", "THEME", "Reply", "build_app", "replies"]

TITLE = "On-prem Assistant"
NOTE = (
    "Answers come only from the indexed documents, with their sources;"
    " nothing you ask leaves this machine."
)
CSS = """
.sources { margin-top: .6em; font-size: .9em; }
.sources summary { cursor: pointer; font-weight: 600; }
.src-list { list-style: none; margin: .3em 0 0 0; padding-left: .2em; }
.src { margin: .35em 0; }
.src-num, .src-file { font-weight: 600; }
.src-anchor { opacity: .7; font-style: italic; }
.src-anchor::before { content: "· "; font-style: normal; }
.src-cited { font-size: .75em; padding: 0 .45em; border-radius: .6em;
  background: var(--color-accent-soft); border: 1px solid var(--color-accent); }
.src-snippet { opacity: .8; font-size: .92em; margin-top: .15em; }
.answer-meta { margin-top: .5em; font-size: .78em; }
.answer-pending { opacity: .6; font-style: italic; }
.answer-error { color: var(--error-text-color, #b91c1c); font-weight: 600; }
.docs { width: 100%; font-size: .85em; border-collapse: collapse; border: none; }
.docs tr { border: none; }
.docs th, .docs td { text-align: left; vertical-align: top; padding: .25em .4em;
  border: none; border-bottom: 1px solid var(--border-color-primary); font-size: 1em; }
.docs td { overflow-wrap: anywhere; }
.docs .doc-file { font-family: var(--font-mono); font-size: .92em; white-space: nowrap;
  overflow-wrap: normal; }
.docs .doc-chunks { text-align: right; }
.docs-summary { font-size: .85em; opacity: .75; }
.docs .doc-when, .docs .doc-chunks, .results .res-status, .results .res-chunks { width: 1%;
  white-space: nowrap; }
.results .res-chunks { text-align: right; }
.results .res-file { width: 30%; }
.results .res-file { font-family: var(--font-mono); font-size: .92em; }
.results .badge { font-size: .85em; padding: 0 .5em; border-radius: .6em; white-space: nowrap;
  border: 1px solid var(--border-color-primary); }
.res-added .badge, .res-updated .badge { background: var(--color-accent-soft);
  border-color: var(--color-accent); }
.res-failed .badge { color: var(--error-text-color, #b91c1c);
  border-color: var(--error-border-color, #b91c1c); }
.res-failed .res-reason { color: var(--error-text-color, #b91c1c); }
.res-queued .badge { opacity: .7; font-style: italic; }
.upload-status, .note { font-size: .9em; margin: .3em 0; }
.upload-status.is-busy { font-style: italic; opacity: .8; }
.note.is-warning { font-weight: 700; }
mark.evidence { background: #fde68a; color: inherit; padding: 0 .1em; }
.src-open { text-decoration: none; }
.src-open:hover .src-num { text-decoration: underline; }
mark.claim-unsupported { background: none; color: inherit;
  text-decoration: underline wavy #b91c1c; text-underline-offset: 3px; }
.claim-reason, .claims-summary { color: var(--error-text-color, #b91c1c); font-size: .82em; }
.claims-summary { margin-top: .4em; font-weight: 600; }
"""
CSS += DOCLIST_CSS  # the Documents page's table and pager (ui/doclist.py)
CSS += LAYOUT_CSS  # ui.layout: the sidebar, the bar above the chat, Stop, focus, phone width
CSS += THEME_CSS  # contrast, focus ring and dark-mode colours (ui/theme.py)


def build_app(
    assistant: Assistant,
    store: Store,
    *,
    collection: str | None = None,
    uploads: Uploads | None = None,
    user_of: UserOf | None = None,
    history: History | None = None,
    queue_max: int | None = None,
    feedback: FeedbackLog | None = None,
) -> gr.Blocks:
    """The page: the conversations sidebar (`ui.sidebar`), a Chat tab (answers with
    their sources, the collection's documents beside them) and a Documents tab (upload
    when `uploads` is given, list, delete).

    With `user_of` (login on, the app mounted by `api.app`), every handler acts for the
    signed-in user: only collections they may read, changes only where they own. Without
    it, conversations (with `history`) are the local user's, as on the command line."""
    default = collection or store.default_collection
    private: dict[str, Any] = {"api_visibility": "private"}
    owner_of = _owner_of(user_of, history)

    # delete_cache: uploads nobody submitted are deleted within 20 minutes (checked every
    # 5), and at restart; handled ones are deleted at once.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(300, 900)) as app:
        bar = sidebar(history, owner_of)
        gr.Markdown(f"# {TITLE}\n{NOTE}")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat", elem_id="chat-tab") as chat_page:
                chat = chat_tab(assistant, store, default, user_of, history, feedback, owner_of)
            with gr.Tab("Documents", id="documents", elem_id="documents-tab") as docs_page:
                docs = documents_tab(store, uploads, default, user_of)
        wire(bar, chat)

        def menu(request: gr.Request) -> str:
            return user_menu_html(user_of(request) if user_of else None, user_of is not None)

        refresh_chat = panel_updater(store, default, user_of)
        for event in docs.changed:  # the chat's choices and panel follow uploads and deletes
            event.then(refresh_chat, chat.collection, chat.outputs, **private)
        chat_page.select(refresh_chat, chat.collection, chat.outputs, **private)
        docs_page.select(docs.refresh, docs.collection, docs.outputs, **private)
        app.load(None, None, None, js=KEYS_JS, **private)
        app.load(menu, None, bar.menu, **private)
        app.load(refresh_chat, chat.collection, chat.outputs, **private)
        app.load(docs.refresh, docs.collection, docs.outputs, **private)
        if bar.past is not None:
            past = bar.past
            app.load(
                past.handlers.refresh, [past.search, chat.conversation], past.listed, **private
            )

    # As many generations at once as the embedded engine has slots; everyone else queues,
    # at most `queue_max` of them (Gradio tells one more that the queue is full).
    slots = getattr(getattr(assistant.model, "queue", None), "slots", 1)
    app.queue(default_concurrency_limit=slots, max_size=queue_max)
    return app


def _owner_of(user_of: UserOf | None, history: History | None) -> Any:
    """Whose conversations the page keeps: the signed-in user's, or, without login, the
    local user's (the same ones `assistant chat` and `assistant history` use)."""
    if user_of is not None:
        return user_of
    if history is None:
        return lambda _request: None

    def local(_request: gr.Request | None) -> Principal | None:
        return LOCAL

    return local
