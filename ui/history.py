"""The History tab (login on): a user's past conversations, to read again, continue in
the chat (its memory too: follow-ups pick up the thread), rename, export as Markdown or
JSON, or delete. Only the signed-in user's own, and sources from collections they can no
longer read are left out (`assistant.history`)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import transcript
from assistant.answering import Answer, Source
from assistant.history import History
from ui import render
from ui.documents import UserOf

PRIVATE: dict[str, Any] = {"api_visibility": "private"}
CHOOSE = "Choose a conversation."


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


def memory(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """The turns a continued conversation remembers (the chat's `memory` state)."""
    keys = ("question", "answer", "sources")
    return [{k: t[k] for k in keys} for t in conversation["turns"]]


class HistoryHandlers:
    """The tab's event handlers, each acting for the signed-in user only."""

    def __init__(self, history: History, user_of: UserOf) -> None:
        self.history, self.user_of = history, user_of

    def _found(self, conversation: str | None, request: gr.Request) -> dict[str, Any] | None:
        return self.history.get(self.user_of(request), conversation) if conversation else None

    def choices(self, request: gr.Request) -> list[tuple[str, str]]:
        return [
            (f"{c.updated_at[:16]}  {c.title}", c.id)
            for c in self.history.list(self.user_of(request))
        ]

    def refresh(self, request: gr.Request) -> tuple[Any, str]:
        found = self.choices(request)
        note = "" if found else render.note_html("No conversations yet.")
        return gr.update(choices=found, value=None), note

    def show(self, conversation: str | None, request: gr.Request) -> str:
        found = self._found(conversation, request)
        if found is None:
            return render.note_html(CHOOSE)
        parts = [
            f"<p><b>{render.safe_markdown(t['question'])}</b></p>"
            + render.chat_message(t["answer"], [Source(**s) for s in t["sources"]])
            for t in found["turns"]
        ]
        return "<hr>".join(parts)

    def reopen(self, conversation: str | None, request: gr.Request) -> tuple[Any, ...]:
        found = self._found(conversation, request)
        if found is None:
            return gr.skip(), gr.skip(), gr.skip(), render.note_html(CHOOSE)
        note = render.note_html("Opened in the Chat tab: new questions continue it.")
        return messages(found), found["id"], memory(found), note

    def delete(self, conversation: str | None, request: gr.Request) -> tuple[Any, str, str]:
        if not conversation or not self.history.delete(self.user_of(request), conversation):
            return gr.skip(), "", render.note_html("Nothing deleted.")
        return (
            gr.update(choices=self.choices(request), value=None),
            "",
            render.note_html("Deleted."),
        )

    def rename(self, conversation: str | None, title: str, request: gr.Request) -> tuple[Any, str]:
        if not conversation or not self.history.rename(self.user_of(request), conversation, title):
            return gr.skip(), render.note_html("Choose a conversation and type a title.")
        return gr.update(choices=self.choices(request), value=conversation), render.note_html(
            "Renamed."
        )

    def export(self, conversation: str | None, fmt: str, request: gr.Request) -> tuple[Any, str]:
        """Write the export to a fresh temporary folder, for the page to download."""
        found = self._found(conversation, request)
        if found is None:
            return None, render.note_html(CHOOSE)
        path = Path(tempfile.mkdtemp(prefix="conversation-")) / transcript.file_name(found, fmt)
        path.write_text(transcript.render(found, fmt), encoding="utf-8")
        return str(path), render.note_html(f"Exported as {path.name}.")

    def export_md(self, conversation: str | None, request: gr.Request) -> tuple[Any, str]:
        return self.export(conversation, "md", request)

    def export_json(self, conversation: str | None, request: gr.Request) -> tuple[Any, str]:
        return self.export(conversation, "json", request)

    def new_chat(self) -> tuple[Any, ...]:
        return [], None, [], render.note_html("The chat starts afresh.")


def history_tab(history: History, user_of: UserOf, chat: Any) -> HistoryTab:
    """Build the tab; `chat` is the `ui.chat.ChatTab` a conversation is continued in."""
    h = HistoryHandlers(history, user_of)
    picker = gr.Dropdown(label="Conversations", choices=[], elem_id="history-select")
    with gr.Row():
        open_btn = gr.Button("Continue in chat", scale=0, min_width=180, elem_id="history-open")
        new_btn = gr.Button("New chat", scale=0, min_width=140, elem_id="history-new")
        del_btn = gr.Button(
            "Delete", variant="stop", scale=0, min_width=140, elem_id="history-delete"
        )
    with gr.Row(equal_height=True):
        title = gr.Textbox(
            placeholder="New title", show_label=False, container=False, elem_id="history-title"
        )
        rename_btn = gr.Button("Rename", scale=0, min_width=120, elem_id="history-rename")
        md_btn = gr.Button("Export Markdown", scale=0, min_width=160, elem_id="history-md")
        json_btn = gr.Button("Export JSON", scale=0, min_width=140, elem_id="history-json")
    exported = gr.File(label="Export", interactive=False, elem_id="history-file")
    note = gr.HTML(elem_id="history-note")
    view = gr.HTML(elem_id="history-view")

    continued = [chat.chatbot, chat.conversation, chat.memory, note]
    picker.input(h.show, picker, view, **PRIVATE)
    open_btn.click(h.reopen, picker, continued, **PRIVATE)
    new_btn.click(h.new_chat, None, continued, **PRIVATE)
    del_btn.click(h.delete, picker, [picker, view, note], **PRIVATE)
    rename_btn.click(h.rename, [picker, title], [picker, note], **PRIVATE)
    md_btn.click(h.export_md, picker, [exported, note], **PRIVATE)
    json_btn.click(h.export_json, picker, [exported, note], **PRIVATE)
    return HistoryTab(h.refresh, [picker, note])
