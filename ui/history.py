"""The History tab (login on): a user's past conversations, to read again, continue in
the chat, or delete. Only the signed-in user's own, and sources from collections they
can no longer read are left out (`assistant.history`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from assistant.answering import Answer, Source
from assistant.history import History
from ui import render
from ui.documents import UserOf


@dataclass
class HistoryTab:
    refresh: Callable[..., tuple[Any, str]]
    outputs: list[Any]


def messages(conversation: dict[str, Any], model: str = "") -> list[dict[str, Any]]:
    """A stored conversation as Gradio chat messages, rendered like live answers."""
    out: list[dict[str, Any]] = []
    for t in conversation["turns"]:
        sources = [Source(**s) for s in t["sources"]]
        answer = Answer(t["question"], t["answer"], sources, t["refused"], model)
        out.append({"role": "user", "content": render.safe_markdown(t["question"])})
        content = render.chat_message(t["answer"], sources, final=answer)
        out.append({"role": "assistant", "content": content})
    return out


def history_tab(history: History, user_of: UserOf, chat: Any) -> HistoryTab:
    """Build the tab; `chat` is the `ui.chat.ChatTab` a conversation is continued in."""
    private: dict[str, Any] = {"api_visibility": "private"}

    def choices(request: gr.Request) -> list[tuple[str, str]]:
        return [(f"{c.updated_at[:16]}  {c.title}", c.id) for c in history.list(user_of(request))]

    def refresh(request: gr.Request) -> tuple[Any, str]:
        found = choices(request)
        note = "" if found else render.note_html("No conversations yet.")
        return gr.update(choices=found, value=None), note

    def show(conversation: str | None, request: gr.Request) -> str:
        found = history.get(user_of(request), conversation) if conversation else None
        if found is None:
            return render.note_html("Choose a conversation.")
        parts = [
            f"<p><b>{render.safe_markdown(t['question'])}</b></p>"
            + render.chat_message(t["answer"], [Source(**s) for s in t["sources"]])
            for t in found["turns"]
        ]
        return "<hr>".join(parts)

    def reopen(conversation: str | None, request: gr.Request) -> tuple[Any, Any, str]:
        found = history.get(user_of(request), conversation) if conversation else None
        if found is None:
            return gr.skip(), gr.skip(), render.note_html("Choose a conversation.")
        note = render.note_html("Opened in the Chat tab: new questions continue it.")
        return messages(found), found["id"], note

    def delete(conversation: str | None, request: gr.Request) -> tuple[Any, str, str]:
        user = user_of(request)
        if not conversation or not history.delete(user, conversation):
            return gr.skip(), "", render.note_html("Nothing deleted.")
        found = [(f"{c.updated_at[:16]}  {c.title}", c.id) for c in history.list(user)]
        return gr.update(choices=found, value=None), "", render.note_html("Deleted.")

    picker = gr.Dropdown(label="Conversations", choices=[], elem_id="history-select")
    with gr.Row():
        open_btn = gr.Button("Continue in chat", scale=0, min_width=180, elem_id="history-open")
        new_btn = gr.Button("New chat", scale=0, min_width=140, elem_id="history-new")
        del_btn = gr.Button(
            "Delete", variant="stop", scale=0, min_width=140, elem_id="history-delete"
        )
    note = gr.HTML(elem_id="history-note")
    view = gr.HTML(elem_id="history-view")

    picker.input(show, picker, view, **private)
    open_btn.click(reopen, picker, [chat.chatbot, chat.conversation, note], **private)
    new_btn.click(
        lambda: ([], None, render.note_html("The chat starts afresh.")),
        None,
        [chat.chatbot, chat.conversation, note],
        **private,
    )
    del_btn.click(delete, picker, [picker, view, note], **private)
    return HistoryTab(refresh, [picker, note])
