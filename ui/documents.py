"""The Documents tab: upload files into a collection, see its documents, delete some.

Uploading and deleting share one queue slot (`concurrency_id="ingest"`, limit 1), so the
page never runs two writes at once; the store's collection lock refuses a concurrent CLI
ingest with a clear message. The screening, copying and reporting live in `assistant.uploads`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from assistant.auth.access import AccessDenied, Principal, check_read, check_write
from assistant.errors import AssistantError
from assistant.store import Store
from assistant.uploads import (
    Uploads,
    UploadStatus,
    collection_problem,
    delete_documents,
    run,
    screen,
)
from ui import render

log = logging.getLogger(__name__)
# The signed-in user of a request (login on); without it the page is the laptop's.
UserOf = Callable[[gr.Request], Principal]


def collection_names(store: Store, default: str, user: Principal | None = None) -> list[str]:
    """The collections this server can open (built by its embedder), and the default;
    with a `user`, only those they may read."""
    try:
        names = {c.name for c in store.collection_stats() if c.documents is not None}
    except AssistantError:
        log.exception("listing collections")
        names = set()
    if user is not None:
        return user.visible(sorted(names))
    return sorted(names | {default})


@dataclass
class DocumentsTab:
    """How the page refreshes the tab, and the events after which the rest of the page
    should refresh (gradio dependencies: chain `.then(...)` on them)."""

    refresh: Callable[[str | None], tuple[Any, str, Any]]
    collection: gr.Dropdown
    outputs: list[Any]  # what `refresh` updates
    changed: list[Any]


class DocumentsHandlers:
    """The tab's event handlers. With `user_of` (login on), a user sees only collections
    they may read, and uploads to or deletes from only those they own (admins: all)."""

    def __init__(
        self, store: Store, uploads: Uploads | None, default: str, user_of: UserOf | None
    ) -> None:
        self.store, self.uploads, self.default, self.user_of = store, uploads, default, user_of
        # (HTML, shown as is in the empty-collection message)
        self.hint = (
            "Upload some above." if uploads else "Index some with <code>assistant ingest</code>."
        )

    def user(self, request: gr.Request | None) -> Principal | None:
        return self.user_of(request) if self.user_of and request is not None else None

    def listing(self, collection: str | None, request: gr.Request | None = None) -> tuple[str, Any]:
        name = collection or self.default
        if problem := denied(self.user(request), name):
            return render.error_html(problem), gr.update(choices=[], value=[])
        try:
            docs = self.store.documents(name)
        except AssistantError as exc:
            return render.error_html(render.error_line(exc)), gr.update(choices=[], value=[])
        table = render.documents_html(docs, name, detail=True, hint=self.hint)
        return table, gr.update(choices=render.document_choices(docs), value=[])

    def refresh(
        self, collection: str | None, request: gr.Request | None = None
    ) -> tuple[Any, str, Any]:
        user = self.user(request)
        names = collection_names(self.store, self.default, user)
        default_ok = user is None or self.default in names
        first = self.default if default_ok else (names[0] if names else None)
        name = collection if collection in names else first
        if name is None:
            note = render.note_html("You may not read any collection yet: ask an admin.")
            return gr.update(choices=[], value=None), note, gr.update(choices=[], value=[])
        return gr.update(choices=names, value=name), *self.listing(name, request)

    def upload(
        self,
        files: list[str] | None,
        picked: str | None,
        new: str,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[str, Any, Any, Any]]:
        skip = gr.skip()
        if self.uploads is None:
            yield render.error_html("Uploading is not enabled on this server."), skip, skip, skip
            return
        if not files:
            yield render.note_html("Choose files to upload first."), skip, skip, skip
            return
        name, problem = target(picked, new)
        user = self.user(request)
        if name is not None:
            problem = denied(user, name, write=True)
        if name is None or problem:
            yield render.error_html(problem or ""), skip, skip, skip  # the files stay chosen
            return
        items = screen(files, self.uploads)
        yield render.upload_html(UploadStatus(items, name)), None, skip, skip  # empties the box
        last = None
        self.user(request)  # a new Gradio step: names the uploader again (the audit trail)
        for last in run(items, name, self.uploads, temp=Path(get_upload_folder())):
            yield render.upload_html(last), skip, skip, skip
        names = collection_names(self.store, self.default, user)
        chosen = name if name in names else picked
        cleared = "" if chosen == name else skip
        yield render.upload_html(last), skip, gr.update(choices=names, value=chosen), cleared

    def delete(
        self, collection: str | None, sources: list[str] | None, request: gr.Request | None = None
    ) -> tuple[str, Any]:
        hidden = gr.update(visible=False)
        if not collection or not sources:
            return render.note_html("Nothing deleted."), hidden
        if problem := denied(self.user(request), collection, write=True):
            return render.error_html(problem), hidden
        try:
            removed = delete_documents(self.store, self.uploads, sources, collection)
        except AssistantError as exc:
            return render.error_html(render.error_line(exc)), hidden
        files = ", ".join(render.file_name(s) for s in sources)
        done = f"Deleted {removed} document(s) from '{collection}': {files}."
        return render.note_html(done), hidden


def denied(user: Principal | None, name: str, write: bool = False) -> str | None:
    """Why `user` may not read (or, with `write`, change) collection `name`; None: allowed
    (and always, with login off)."""
    if user is None:
        return None
    try:
        check_write(user, name) if write else check_read(user, name)
    except AccessDenied as exc:
        return str(exc)
    return None


def target(picked: str | None, new: str) -> tuple[str | None, str | None]:
    """The collection to upload into, or why there is none."""
    new = new.strip()
    if new:
        problem = collection_problem(new)
        return (None, f"'{new}' cannot be a collection: {problem}.") if problem else (new, None)
    if picked:
        return picked, None
    return None, "Choose a collection, or name a new one."


def confirm(collection: str | None, sources: list[str] | None) -> tuple[Any, str, str]:
    if not sources:
        return gr.update(visible=False), "", render.note_html("Select documents first.")
    files = ", ".join(render.file_name(s) for s in sources)
    question = (
        f"Delete {len(sources)} document(s) from '{collection}': {files}? Their chunks"
        " leave the store, and their uploaded copies are deleted."
    )
    return gr.update(visible=True), render.note_html(question, warning=True), ""


def documents_tab(
    store: Store, uploads: Uploads | None, default: str, user_of: UserOf | None = None
) -> DocumentsTab:
    """Build the tab's content and wire its events; call inside a `gr.Tab`."""
    h = DocumentsHandlers(store, uploads, default, user_of)
    with gr.Row(equal_height=True):
        picked = gr.Dropdown(
            choices=[default], value=default, label="Collection", elem_id="docs-collection"
        )
        new = gr.Textbox(
            label="… or a new one to upload into",
            placeholder="e.g. hr-policies (letters, digits, . _ -)",
            elem_id="new-collection",
            visible=uploads is not None,
        )
    files, send, results = _upload_section(uploads)
    gr.Markdown("### Documents")
    table = gr.HTML(elem_id="collection-documents")
    d = _delete_section()

    private: dict[str, Any] = {"api_visibility": "private"}
    write: dict[str, Any] = {**private, "concurrency_id": "ingest", "concurrency_limit": 1}
    picked.input(h.listing, picked, [table, d.selected], **private)
    uploaded = send.click(
        h.upload,
        [files, picked, new],
        [results, files, picked, new],
        **write,
        show_progress="minimal",
    ).then(h.listing, picked, [table, d.selected], **private)
    d.ask.click(confirm, [picked, d.selected], [d.row, d.question, d.message], **private)
    d.no.click(
        lambda: (gr.update(visible=False), render.note_html("Nothing deleted.")),
        None,
        [d.row, d.message],
        **private,
    )
    d.selected.input(lambda: gr.update(visible=False), None, d.row, **private)
    deleted = d.yes.click(h.delete, [picked, d.selected], [d.message, d.row], **write).then(
        h.listing, picked, [table, d.selected], **private
    )
    return DocumentsTab(h.refresh, picked, [picked, table, d.selected], [uploaded, deleted])


def _upload_section(uploads: Uploads | None) -> tuple[gr.File, gr.Button, gr.HTML]:
    with gr.Column(visible=uploads is not None, elem_id="upload-section"):
        limits = f"Accepted: {uploads.limits}." if uploads else ""
        gr.Markdown(
            f"### Upload\n{limits} A file with the name of a document already in"
            " the collection replaces it."
        )
        files = gr.File(
            file_count="multiple",
            type="filepath",
            show_label=False,
            height=120,
            elem_id="upload-files",
        )
        with gr.Row():
            send = gr.Button(
                "Upload and index", variant="primary", scale=0, min_width=180, elem_id="upload"
            )
        results = gr.HTML(elem_id="upload-results")
    return files, send, results


@dataclass
class _DeleteControls:
    selected: gr.Dropdown
    ask: gr.Button
    row: gr.Column
    question: gr.HTML
    yes: gr.Button
    no: gr.Button
    message: gr.HTML


def _delete_section() -> _DeleteControls:
    """Pick documents, ask to delete, confirm or cancel."""
    selected = gr.Dropdown(multiselect=True, label="Documents to delete", elem_id="delete-select")
    with gr.Row():
        ask = gr.Button(
            "Delete selected…", variant="stop", scale=0, min_width=180, elem_id="delete"
        )
    with gr.Column(visible=False, elem_id="confirm-row") as row:
        question = gr.HTML(elem_id="confirm-text")
        with gr.Row():
            yes = gr.Button(
                "Yes, delete", variant="stop", scale=0, min_width=140, elem_id="confirm-delete"
            )
            no = gr.Button("Cancel", scale=0, min_width=140, elem_id="cancel-delete")
    message = gr.HTML(elem_id="delete-message")
    return _DeleteControls(selected, ask, row, question, yes, no, message)
