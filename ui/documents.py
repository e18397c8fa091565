"""The Documents tab: upload files into a collection, page through its documents (50 at
a time, searched and sorted by the store: `ui.doclist` renders a page), delete some.

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

from assistant.audit import acting_as
from assistant.auth.access import LOCAL, AccessDenied, Principal, check_read, check_write
from assistant.errors import AssistantError
from assistant.store import PAGE_SIZE, Store
from assistant.uploads import (
    Uploads,
    UploadStatus,
    collection_problem,
    delete_documents,
    run,
    screen,
)
from ui import doclist, render
from ui.documents_widgets import delete_section, listing_section, upload_section

log = logging.getLogger(__name__)
# The signed-in user of a request (login on); without it the page is the laptop's.
UserOf = Callable[[gr.Request], Principal]
Listing = tuple[str, str, int, Any]  # table, pager line, page shown, delete choices
SIZE = PAGE_SIZE  # documents a page
WEB_WITHOUT_LOGIN = "web page (no sign-in)"
SORT = doclist.DEFAULT_SORT


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

    refresh: Callable[[str | None], tuple[Any, ...]]
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

    def uploader(self, request: gr.Request | None) -> None:
        """Name who uploads, for the audit trail and the documents' "by": the signed-in
        user (`user_of` does), or with login off the web page itself, not the account
        the server runs under (which would read as the command line)."""
        user = self.user(request)
        if user is None or user == LOCAL:
            acting_as(WEB_WITHOUT_LOGIN)

    def listing(
        self,
        collection: str | None,
        search: str | None = "",
        sort: str | None = doclist.DEFAULT_SORT,
        page: int | None = 1,
        request: gr.Request | None = None,
    ) -> tuple[str, str, int, Any]:
        """Page `page` (clamped to the pages there are) of the collection's documents that
        match `search`: (table, pager line, the page shown, the delete picker's choices)."""
        name, search = collection or self.default, (search or "")[: doclist.MAX_SEARCH]
        none = gr.update(choices=[], value=[])
        if problem := denied(self.user(request), name):
            return render.error_html(problem), "", 1, none
        number = max(1, int(page or 1))
        try:
            got = self.store.document_page(name, doclist.page_query(search, sort, number, SIZE))
            last = doclist.page_count(got.total, SIZE)
            if number > last:  # past the end ("last", or documents deleted meanwhile)
                number = last
                got = self.store.document_page(name, doclist.page_query(search, sort, last, SIZE))
        except AssistantError as exc:
            return render.error_html(render.error_line(exc)), "", 1, none
        table = doclist.table_html(got, name, search, self.hint, render.when)
        choices = render.document_choices(got.documents)
        return table, doclist.pager_html(got, search), number, gr.update(choices=choices, value=[])

    def first(self, c: str | None, q: str, s: str, _: int, request: gr.Request) -> Listing:
        return self.listing(c, q, s, 1, request)

    def previous(self, c: str | None, q: str, s: str, p: int, request: gr.Request) -> Listing:
        return self.listing(c, q, s, max(1, int(p or 1) - 1), request)

    def next(self, c: str | None, q: str, s: str, p: int, request: gr.Request) -> Listing:
        return self.listing(c, q, s, int(p or 1) + 1, request)

    def last(self, c: str | None, q: str, s: str, _: int, request: gr.Request) -> Listing:
        return self.listing(c, q, s, 2**31, request)  # clamped to the last page

    def refresh(self, collection: str | None, request: gr.Request | None = None) -> tuple[Any, ...]:
        """The collection choices and the first page of the chosen one, unsearched and in
        the default order (the search box and the sort picker are reset to match)."""
        user = self.user(request)
        names = collection_names(self.store, self.default, user)
        default_ok = user is None or self.default in names
        first = self.default if default_ok else (names[0] if names else None)
        name = collection if collection in names else first
        if name is None:
            note = render.note_html("You may not read any collection yet: ask an admin.")
            none = gr.update(choices=[], value=[])
            return gr.update(choices=[], value=None), "", SORT, note, "", 1, none
        first_page = self.listing(name, "", SORT, 1, request)
        return gr.update(choices=names, value=name), "", SORT, *first_page

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
        self.uploader(request)  # a new Gradio step: names the uploader again
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
    files, send, results = upload_section(uploads)
    gr.Markdown("## Documents")
    v = listing_section()
    d = delete_section()

    private: dict[str, Any] = {"api_visibility": "private"}
    write: dict[str, Any] = {**private, "concurrency_id": "ingest", "concurrency_limit": 1}
    shown = [v.table, v.pager, v.page, d.selected]
    where = [picked, v.search, v.sort, v.page]
    fresh = [picked, v.search, v.sort]  # a new collection, search or sort: its first page
    picked.input(h.listing, fresh, shown, **private)
    v.search.submit(h.listing, fresh, shown, **private)
    v.search.input(h.listing, fresh, shown, trigger_mode="always_last", **private)
    v.sort.input(h.listing, fresh, shown, **private)
    for button, turn in [
        (v.first, h.first),
        (v.previous, h.previous),
        (v.next, h.next),
        (v.last, h.last),
    ]:
        button.click(turn, where, shown, **private)
    uploaded = send.click(
        h.upload,
        [files, picked, new],
        [results, files, picked, new],
        **write,
        show_progress="minimal",
    ).then(h.listing, where, shown, **private)
    d.ask.click(confirm, [picked, d.selected], [d.row, d.question, d.message], **private)
    d.no.click(
        lambda: (gr.update(visible=False), render.note_html("Nothing deleted.")),
        None,
        [d.row, d.message],
        **private,
    )
    d.selected.input(lambda: gr.update(visible=False), None, d.row, **private)
    deleted = d.yes.click(h.delete, [picked, d.selected], [d.message, d.row], **write).then(
        h.listing, where, shown, **private
    )
    return DocumentsTab(h.refresh, picked, [picked, v.search, v.sort, *shown], [uploaded, deleted])
