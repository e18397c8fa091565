"""The sidebar beside the chat: who is signed in (a small menu: admin page, API tokens,
sign out), "New conversation", and the past conversations (`ui.history`): newest first,
a search box over titles and text, and for the chosen one rename, export and delete.

It folds away (Gradio's own toggle); on a narrow screen it starts folded (`ui.layout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

import gradio as gr

from assistant.auth.access import Principal
from assistant.history import History
from ui.history import HistoryHandlers, Owner

PRIVATE: dict[str, Any] = {"api_visibility": "private"}


def user_menu_html(user: Principal | None, login: bool) -> str:
    """The name of who is signed in, and what they can do from here."""
    if not login or user is None:
        return '<p class="user-local">Local use: this machine only, no sign-in.</p>'
    name = escape(user.name)
    items = []
    if user.is_admin:
        items.append('<li><a href="/admin">Admin page</a></li>')
        items.append('<li><a href="/admin">API tokens (on the admin page)</a></li>')
    else:
        items.append('<li class="menu-note">API tokens: ask an admin</li>')
    items.append('<li><a href="/docs">API documentation</a></li>')
    items.append(
        '<li><form id="sign-out" method="post" action="/logout">'
        '<button type="submit" class="sign-out">Sign out</button></form></li>'
    )
    return (
        f'<details class="user-menu"><summary aria-label="Account menu of {name}">'
        f'<span class="user-name">{name}</span></summary>'
        f'<ul class="user-actions">{"".join(items)}</ul></details>'
    )


@dataclass
class Past:
    """The past conversations' part of the sidebar."""

    search: gr.Textbox
    listing: gr.Radio
    title: gr.Textbox
    note: gr.HTML
    handlers: HistoryHandlers
    tools: tuple[Any, ...]  # rename, delete, export md, export json, the file

    @property
    def listed(self) -> list[Any]:
        return [self.listing, self.note]


@dataclass
class Sidebar:
    menu: gr.HTML
    new: gr.Button
    past: Past | None = None  # None: no history kept


def sidebar(history: History | None, owner_of: Owner) -> Sidebar:
    """Build the sidebar (call inside the Blocks); `wire` connects it to the chat."""
    with gr.Sidebar(label="Conversations", elem_id="sidebar", width=300):
        menu = gr.HTML(elem_id="user-menu")
        new = gr.Button(
            "New conversation", size="sm", variant="primary", elem_id="new-conversation"
        )
        if history is None:
            return Sidebar(menu, new)
        search = gr.Textbox(
            label="Search conversations",
            placeholder="Title or text",
            elem_id="conversation-search",
            max_lines=1,
        )
        listing = gr.Radio(choices=[], label="Conversations, newest first", elem_id="conversations")
        note = gr.HTML(elem_id="history-note")
        with gr.Accordion("Rename, export or delete", open=False, elem_id="conversation-tools"):
            title = gr.Textbox(label="Title", max_lines=1, elem_id="history-title")
            with gr.Row():
                rename = gr.Button("Rename", size="sm", elem_id="history-rename")
                delete = gr.Button("Delete", size="sm", variant="stop", elem_id="history-delete")
            with gr.Row():
                md = gr.Button("Export Markdown", size="sm", elem_id="history-md")
                js = gr.Button("Export JSON", size="sm", elem_id="history-json")
            exported = gr.File(
                label="Export", interactive=False, visible=False, elem_id="history-file"
            )
    h = HistoryHandlers(history, owner_of)
    past = Past(search, listing, title, note, h, (rename, delete, md, js, exported))
    return Sidebar(menu, new, past)


def wire(bar: Sidebar, chat: Any) -> None:
    """Connect the sidebar to `chat` (a `ui.chat.ChatTab`): open, new, delete, refresh
    after each answer."""
    new_chat = [chat.chatbot, chat.conversation, chat.memory, chat.last]
    past = bar.past
    if past is None:
        bar.new.click(lambda: ([], None, [], {}), None, new_chat, **PRIVATE)
        return
    h, listing, search, note, title = (
        past.handlers,
        past.listing,
        past.search,
        past.note,
        past.title,
    )
    rename, delete, md, js, exported = past.tools
    bar.new.click(
        lambda: ([], None, [], {}, gr.update(value=None), ""),
        None,
        [*new_chat, listing, title],
        **PRIVATE,
    )
    listed = past.listed
    search.change(
        h.refresh, [search, chat.conversation], listed, **PRIVATE, trigger_mode="always_last"
    )
    listing.input(h.reopen, listing, [*new_chat, title, note], **PRIVATE)
    rename.click(h.rename, [listing, title, search], listed, **PRIVATE)
    delete.click(h.delete, [listing, search, chat.conversation], [*listed, *new_chat], **PRIVATE)
    md.click(h.export_md, listing, [exported, note], **PRIVATE)
    js.click(h.export_json, listing, [exported, note], **PRIVATE)
    for event in chat.answered:  # a new or continued conversation moves to the top
        event.then(h.refresh, [search, chat.conversation], listed, **PRIVATE)
