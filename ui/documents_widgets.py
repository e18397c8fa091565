"""The Documents tab's controls, built in place (call inside the tab): upload box, search
and sort with one page of the table and its page buttons, delete picker and confirmation.
Stable `elem_id`s: the browser tests find the controls by them."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from assistant.uploads import Uploads
from ui import doclist


@dataclass
class ListingControls:
    search: gr.Textbox
    sort: gr.Dropdown
    table: gr.HTML
    pager: gr.HTML
    page: gr.State
    first: gr.Button
    previous: gr.Button
    next: gr.Button
    last: gr.Button


def listing_section() -> ListingControls:
    """Search and sort, one page of the table, and the buttons that turn pages."""
    with gr.Row(equal_height=True):
        search = gr.Textbox(
            label="Search file names and titles",
            placeholder="e.g. leave policy",
            max_length=doclist.MAX_SEARCH,
            elem_id="docs-search",
            scale=3,
        )
        sort = gr.Dropdown(
            choices=doclist.SORT_CHOICES,
            value=doclist.DEFAULT_SORT,
            label="Sort by",
            elem_id="docs-sort",
            scale=1,
        )
    table = gr.HTML(elem_id="collection-documents")
    with gr.Row(elem_id="docs-pager-row"):
        first = gr.Button("« First", size="sm", scale=0, min_width=90, elem_id="docs-first")
        previous = gr.Button("‹ Previous", size="sm", scale=0, min_width=90, elem_id="docs-prev")
        pager = gr.HTML(elem_id="docs-page")
        next_ = gr.Button("Next ›", size="sm", scale=0, min_width=90, elem_id="docs-next")
        last = gr.Button("Last »", size="sm", scale=0, min_width=90, elem_id="docs-last")
    page = gr.State(1)
    return ListingControls(search, sort, table, pager, page, first, previous, next_, last)


def upload_section(uploads: Uploads | None) -> tuple[gr.File, gr.Button, gr.HTML]:
    with gr.Column(visible=uploads is not None, elem_id="upload-section"):
        limits = f"Accepted: {uploads.limits}." if uploads else ""
        gr.Markdown(
            f"## Upload\n{limits} A file with the name of a document already in"
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
class DeleteControls:
    selected: gr.Dropdown
    ask: gr.Button
    row: gr.Column
    question: gr.HTML
    yes: gr.Button
    no: gr.Button
    message: gr.HTML


def delete_section() -> DeleteControls:
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
    return DeleteControls(selected, ask, row, question, yes, no, message)
