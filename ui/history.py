"""The handlers of the conversations sidebar (`ui.sidebar`): a user's past conversations,
newest first and searchable, to continue in the chat (its memory too: follow-ups pick up
the thread), rename, export as Markdown or JSON, or delete. Only the user's own (the
signed-in user, or the local user without login), and sources from collections they can
no longer read are left out (`assistant.history`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from assistant import transcript
from assistant.answering import Answer, Source
from assistant.auth.access import Principal
from assistant.history import History
from assistant.scratch import scratch_dir
from ui import render
from ui.flow import stopped_message

CHOOSE = "Choose a conversation."
# An export's file is copied into Gradio's cache (which deletes it after 15 minutes, see
# `ui.app`) as it is sent; the one written here goes at the next export after as long.
EXPORT_KEEP_S = 900
Owner = Callable[[gr.Request | None], Principal | None]


def messages(conversation: dict[str, Any], model: str = "") -> list[dict[str, Any]]:
    """A stored conversation as Gradio chat messages, rendered like live answers."""
    out: list[dict[str, Any]] = []
    for t in conversation["turns"]:
        sources = [Source(**s) for s in t["sources"]]
        out.append({"role": "user", "content": render.safe_markdown(t["question"])})
        if t.get("stopped"):
            content = stopped_message(t["answer"], sources)
        else:
            answer = Answer(t["question"], t["answer"], sources, t["refused"], model)
            content = render.chat_message(t["answer"], sources, final=answer)
        out.append({"role": "assistant", "content": content})
    return out


def memory(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """The turns a continued conversation remembers (the chat's `memory` state)."""
    keys = ("question", "answer", "sources")
    return [{k: t[k] for k in keys} for t in conversation["turns"]]


class HistoryHandlers:
    """The sidebar's event handlers, each acting for the page's owner only."""

    def __init__(self, history: History, owner_of: Owner) -> None:
        self.history, self.owner_of = history, owner_of

    def _owner(self, request: gr.Request | None) -> Principal:
        owner = self.owner_of(request)
        if owner is None:
            raise PermissionError("no one to keep conversations for")
        return owner

    def _found(self, conversation: str | None, request: gr.Request) -> dict[str, Any] | None:
        return self.history.get(self._owner(request), conversation) if conversation else None

    def choices(self, search: str, request: gr.Request) -> list[tuple[str, str]]:
        return [(c.title, c.id) for c in self.history.list(self._owner(request), search or "")]

    def refresh(self, search: str, current: str | None, request: gr.Request) -> tuple[Any, str]:
        """The list (newest first, filtered by `search`), `current` chosen if listed."""
        found = self.choices(search, request)
        if found:
            note = ""
        else:
            note = render.note_html("No match." if search.strip() else "No conversations yet.")
        value = current if current in {v for _, v in found} else None
        return gr.update(choices=found, value=value), note

    def reopen(self, conversation: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Outputs: chatbot, conversation, memory, last, title, note."""
        found = self._found(conversation, request)
        if found is None:
            return (gr.skip(),) * 5 + (render.note_html(CHOOSE),)
        last = found["turns"][-1]["question"] if found["turns"] else ""
        return (
            messages(found),
            found["id"],
            memory(found),
            {"question": last, "answered": bool(last)},
            found["title"],
            "",
        )

    def delete(
        self, conversation: str | None, search: str, open_now: str | None, request: gr.Request
    ) -> tuple[Any, ...]:
        """Outputs: list, note, and the chat (cleared if it showed the deleted one)."""
        owner = self._owner(request)
        if not conversation or not self.history.delete(owner, conversation):
            return gr.skip(), render.note_html("Nothing deleted."), *(gr.skip(),) * 4
        listed = gr.update(choices=self.choices(search, request), value=None)
        chat = ([], None, [], {}) if conversation == open_now else (gr.skip(),) * 4
        return listed, render.note_html("Deleted."), *chat

    def rename(
        self, conversation: str | None, title: str, search: str, request: gr.Request
    ) -> tuple[Any, str]:
        if not conversation or not self.history.rename(self._owner(request), conversation, title):
            return gr.skip(), render.note_html("Choose a conversation and type a title.")
        listed = gr.update(choices=self.choices(search, request), value=conversation)
        return listed, render.note_html("Renamed.")

    def export(self, conversation: str | None, fmt: str, request: gr.Request) -> tuple[Any, str]:
        """Write the export to a fresh private folder, for the page to download; earlier
        exports' folders go once they are `EXPORT_KEEP_S` old (a transcript is not left
        in /tmp for good)."""
        found = self._found(conversation, request)
        if found is None:
            return gr.update(value=None, visible=False), render.note_html(CHOOSE)
        path = scratch_dir("export", keep_own_for=EXPORT_KEEP_S) / transcript.file_name(found, fmt)
        path.write_text(transcript.render(found, fmt), encoding="utf-8")
        # Shown only with a file in it: Gradio's empty File is an unlabelled div with an
        # aria-label (axe's serious `aria-prohibited-attr`).
        shown = gr.update(value=str(path), visible=True)
        return shown, render.note_html(f"Exported as {path.name}.")

    def export_md(self, conversation: str | None, request: gr.Request) -> tuple[Any, str]:
        return self.export(conversation, "md", request)

    def export_json(self, conversation: str | None, request: gr.Request) -> tuple[Any, str]:
        return self.export(conversation, "json", request)
