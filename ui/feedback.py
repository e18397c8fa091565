"""Thumbs up/down on each answer (the Chatbot's own like/dislike buttons) and an optional
comment, stored per user by `assistant.feedback.FeedbackLog` with the question, answer,
sources and model, so `assistant eval add --from-feedback ID` can make it a case."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Any

import gradio as gr

from assistant.answering import Answer
from assistant.auth import LOCAL, Principal
from assistant.errors import AssistantError
from assistant.feedback import FeedbackLog, answer_record
from ui import render
from ui.documents import UserOf

log = logging.getLogger(__name__)
REMEMBERED = 500  # finished answers kept to match a vote to (per server, newest)
_TAGS = re.compile(r"<[^>]+>")


class FeedbackHandlers:
    def __init__(self, feedback: FeedbackLog, user_of: UserOf | None = None) -> None:
        self.feedback, self.user_of = feedback, user_of
        self._answers: OrderedDict[str, Answer] = OrderedDict()

    def remember(self, content: str, answer: Answer) -> None:
        """Keep a finished answer under the chat message that shows it."""
        self._answers[content] = answer
        self._answers.move_to_end(content)
        while len(self._answers) > REMEMBERED:
            self._answers.popitem(last=False)

    def user(self, request: gr.Request | None) -> Principal:
        return self.user_of(request) if self.user_of and request is not None else LOCAL

    def vote(
        self, history: list[dict[str, Any]], data: gr.LikeData, request: gr.Request
    ) -> tuple[int | None, str]:
        """Store a like/dislike; the feedback id (for a comment) and a confirmation."""
        index = data.index if isinstance(data.index, int) else data.index[0]
        if data.liked not in (True, False) or not 0 <= index < len(history):
            return None, ""
        content = _text(history[index].get("content"))
        answer = self._answers.get(content)
        if answer is not None:
            record = answer_record(answer)
        else:  # answered before a restart: keep what the page shows
            question = _text(history[index - 1].get("content")) if index else ""
            record = {"question": _plain(question), "answer": _plain(content)}
        try:
            saved = self.feedback.add(self.user(request), "up" if data.liked else "down", record)
        except AssistantError as exc:
            return None, render.error_html(render.error_line(exc))
        word = "helpful" if data.liked else "not helpful"
        return saved.id, render.note_html(
            f"Thanks: answer marked {word} (feedback {saved.id}). Add a comment below if you like."
        )

    def comment(self, text: str, last: int | None, request: gr.Request) -> tuple[str, str]:
        """Attach a comment to this person's latest vote."""
        if last is None:
            return text, render.note_html("Vote on an answer first (👍 or 👎 under it).")
        saved = self.feedback.comment(self.user(request), last, text)
        if saved is None:
            return text, render.note_html("That feedback is gone.", warning=True)
        return "", render.note_html(f"Comment saved with feedback {saved.id}.")


def feedback_row(handlers: FeedbackHandlers, chatbot: gr.Chatbot) -> None:
    """The comment box under the chat, wired to the chatbot's like/dislike event."""
    last = gr.State(None)
    with gr.Row(equal_height=True):
        box = gr.Textbox(
            placeholder="Optional: say what was wrong or right with the answer you voted on",
            show_label=False,
            container=False,
            scale=8,
            max_lines=3,
            elem_id="feedback-comment",
        )
        send = gr.Button("Comment", size="sm", scale=1, min_width=90, elem_id="feedback-send")
    status = gr.HTML(elem_id="feedback-status")
    private: dict[str, Any] = {"api_visibility": "private"}
    chatbot.like(handlers.vote, chatbot, [last, status], **private)
    send.click(handlers.comment, [box, last], [box, status], **private)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # Gradio may hand back content as a list of parts
        return " ".join(_text(p.get("text", p) if isinstance(p, dict) else p) for p in content)
    if isinstance(content, dict):
        return str(content.get("text", content.get("content", "")))
    return str(content or "")


def _plain(text: str) -> str:
    return " ".join(_TAGS.sub(" ", text).split())
