"""The web UI: a streaming chat over the indexed documents, in Gradio 6.

The page and the API endpoint run the same `Assistant.ask` path, so what people see is
what clients get and what the tests check.

Calling the API (the endpoint is named `ask`; it takes the question, yields a dict)::

    from gradio_client import Client

    client = Client("http://127.0.0.1:7860/")
    reply = client.predict("When was Llama 2 released?", api_name="/ask")
    reply["answer"], reply["refused"], [s["file"] for s in reply["sources"]]

    job = client.submit("When was Llama 2 released?", api_name="/ask")
    for partial in job:  # streaming: the same dict, the answer growing
        print(partial["answer"])

Every reply has: answer, sources (number, file, source, title, anchor, snippet,
similarity, cited), refused, done, error (one line, or None), model. Chat and API share one
queue slot (`concurrency_id="model"`, limit 1): one llama.cpp context serves one answer at
a time, so concurrent users wait in line instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import gradio as gr  # after `assistant`, whose import switches Gradio's analytics off

from assistant.answering import Answer, Assistant, Source
from assistant.errors import AssistantError
from assistant.store import Store
from ui import render

log = logging.getLogger(__name__)
History = list[dict[str, Any]]  # Gradio 6 chat messages: {"role": ..., "content": ...}

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
.answer-meta { margin-top: .5em; font-size: .78em; opacity: .6; }
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
"""
# Gradio's default theme on the fonts it ships and serves itself (no Google Fonts), minus
# the SemiBold files: in gradio 6.31 they hold ~55 glyphs, so 600-weight text (headings,
# buttons) fell back to DejaVu letter by letter. Declaring 400 and 700 only makes the
# browser use the complete Bold file for 600.
THEME = gr.themes.Default(
    font=(
        gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)),
        "ui-sans-serif",
        "system-ui",
        "sans-serif",
    ),
    font_mono=(
        gr.themes.LocalFont("IBM Plex Mono", weights=(400, 700)),
        "ui-monospace",
        "Consolas",
        "monospace",
    ),
)


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
            "done": self.answer is not None or self.error is not None,
            "error": self.error,
            "model": model,
        }


def replies(assistant: Assistant, question: str, collection: str | None) -> Iterator[Reply]:
    """Stream an answer as Reply steps; errors end the stream as a one-line message."""
    text, sources = "", []
    try:
        stream = assistant.ask(question, collection=collection)
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


def build_app(assistant: Assistant, store: Store, *, collection: str | None = None) -> gr.Blocks:
    """The page: header, chat with per-answer sources, and the indexed-documents panel."""
    name = collection or store.default_collection
    model = assistant.model.name

    def chat(question: str, history: History) -> Iterator[tuple[History, str]]:
        question = question.strip()
        if not question:
            yield history, ""
            return
        history = [*history, {"role": "user", "content": render.safe_markdown(question)}]
        for r in replies(assistant, question, name):
            content = render.chat_message(r.text, r.sources, final=r.answer, error=r.error)
            yield [*history, {"role": "assistant", "content": content}], ""  # "" clears the box

    def ask(question: str) -> Iterator[dict[str, Any]]:
        """Answer a question from the indexed documents, streaming; see the module docstring."""
        for r in replies(assistant, question, name):
            yield r.to_api(model)

    def documents() -> str:
        try:
            return render.documents_html(store.documents(name), name)
        except AssistantError as exc:
            return render.error_html(render.error_line(exc))

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\n{NOTE}  \nModel: `{model}` · collection: `{name}`")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    show_label=False,
                    height=560,
                    latex_delimiters=[],  # "$" in documents is money, not maths
                    feedback_options=None,
                    buttons=["copy"],
                    placeholder="Ask a question about the indexed documents.",
                )
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        placeholder="Ask a question and press Enter",
                        show_label=False,
                        container=False,
                        scale=8,
                        autofocus=True,
                        max_lines=6,
                        elem_id="question",
                    )
                    send = gr.Button(
                        "Send", variant="primary", scale=1, min_width=90, elem_id="send"
                    )
            with gr.Column(scale=2, min_width=280):
                gr.Markdown("### Indexed documents")
                docs = gr.HTML(elem_id="documents")
                refresh = gr.Button("Refresh", size="sm", elem_id="refresh")

        chat_event: dict[str, Any] = {
            "fn": chat,
            "inputs": [box, chatbot],
            "outputs": [chatbot, box],
            "api_visibility": "private",  # clients use /ask: plain data, not chat HTML
            "concurrency_id": "model",
            "show_progress": "minimal",
        }
        box.submit(**chat_event)
        send.click(**chat_event)
        gr.api(ask, api_name="ask", concurrency_id="model")
        refresh.click(documents, outputs=docs, api_visibility="private")
        app.load(documents, outputs=docs, api_visibility="private")

    # One llama.cpp context: one generation at a time, everyone else queues.
    app.queue(default_concurrency_limit=1)
    return app


def launch_options(*, host: str, port: int) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch`, shared by `serve` and the tests."""
    return {
        "server_name": host,
        "server_port": port,
        "share": False,  # a share link would tunnel the page through gradio.live
        "ssr_mode": False,  # no Node server: one process, nothing extra listening
        "footer_links": ["api"],
        "theme": THEME,
        "css": CSS,
        "show_error": False,
    }


def serve(app: gr.Blocks, *, host: str, port: int) -> None:
    """Serve the page until interrupted (blocks)."""
    app.launch(**launch_options(host=host, port=port))
