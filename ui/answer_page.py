"""How an answer behaves on the page: its CSS and the one small script behind its links
and buttons, installed by an invisible `gr.HTML` placed once beside the chat.

The Chatbot's sanitizer strips every script and event attribute from messages (rightly:
they hold model and document text), so the answer's own elements carry only classes,
ids and values, and this script, loaded with the page, listens on the document:

- `a.cite` (an `[n]` in the answer): scroll to source n's card in the same answer,
  open its list if folded, highlight it and focus its link to the viewer;
- `button.answer-copy`: copy the answer's text (the button's value, see
  ui.answer_footer), `button.code-copy`: copy that code block's text.

Copying uses the Clipboard API where the page is a secure context (https, localhost),
and the older `execCommand("copy")` elsewhere (plain http on an internal network).
"""

from __future__ import annotations

import gradio as gr

ELEM_ID = "answer-ui"

ANSWER_CSS = """
.answer-text table { border-collapse: collapse; margin: .5em 0; font-size: .95em; }
.answer-text th, .answer-text td { border: 1px solid var(--border-color-primary);
  padding: .25em .6em; text-align: left; vertical-align: top; }
.answer-text th { background: var(--background-fill-secondary); }
.code-block { position: relative; margin: .5em 0; }
.code-block pre { overflow-x: auto; margin: 0; padding: .7em .9em; border-radius: 6px;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.code-copy, .answer-copy { font: inherit; color: inherit; cursor: pointer;
  border: 1px solid var(--border-color-primary); border-radius: 4px;
  background: var(--background-fill-primary); padding: .05em .55em; }
.code-copy { position: absolute; top: .35em; right: .35em; z-index: 1; font-size: .75em; }
.code-copy:hover, .answer-copy:hover { border-color: var(--color-accent); }
.code-copy:focus-visible, .answer-copy:focus-visible, a.cite:focus-visible {
  outline: 2px solid var(--color-accent); outline-offset: 1px; }
.is-copied { border-color: var(--color-accent); background: var(--color-accent-soft); }
a.cite { font-size: .72em; vertical-align: super; line-height: 1; text-decoration: none;
  padding: 0 .1em; border-radius: 3px; }
a.cite:hover { text-decoration: underline; }
.src { scroll-margin: 4em; border-radius: 4px; transition: background-color .4s; }
.src.src-focus, .src:target { background: var(--color-accent-soft);
  outline: 2px solid var(--color-accent); outline-offset: 2px; }
.answer-footer { display: flex; flex-wrap: wrap; align-items: center; gap: .4em .8em;
  margin-top: .6em; font-size: .85em; }
/* !important: the page's own `.answer-meta` rule (ui.app's CSS, which Gradio prefixes with
   `.gradio-container .contain`) would otherwise shrink and fade it a second time */
.answer-footer span.answer-meta { margin: 0 !important; font-size: 1em !important;
  opacity: .8 !important; }
"""

ANSWER_JS = """
if (!window.answerUi) {
  window.answerUi = true;
  const copyText = async (text) => {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) {}
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let done = false;
    try { done = document.execCommand("copy"); } catch (e) {}
    area.remove();
    return done;
  };
  const openSource = (link) => {
    // The nearest card with that id: the same answer's, even where an answer shows twice
    // (asked again, or in the History tab's preview).
    const selector = "[id='" + CSS.escape((link.getAttribute("href") || "").slice(1)) + "']";
    let card = null;
    for (let el = link.parentElement; el && !card; el = el.parentElement) {
      card = el.querySelector(selector);
    }
    if (!card) return;
    for (let d = card.closest("details"); d; d = d.parentElement.closest("details")) {
      d.open = true;
    }
    card.scrollIntoView({block: "center"});
    card.classList.add("src-focus");
    setTimeout(() => card.classList.remove("src-focus"), 2500);
    const open = card.querySelector("a.src-open");
    if (open) open.focus({preventScroll: true});
  };
  document.addEventListener("click", async (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const link = target && target.closest("a.cite");
    if (link) {
      event.preventDefault();
      event.stopPropagation();
      openSource(link);
      return;
    }
    const button = target && target.closest("button.answer-copy, button.code-copy");
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const code = button.closest(".code-block");
    const text = code ? code.querySelector("code").textContent : button.value;
    const label = button.querySelector(".code-copy-label") || button;
    const ok = await copyText(text);
    label.textContent = ok ? "Copied" : "Copy failed";
    button.classList.toggle("is-copied", ok);
    setTimeout(() => { label.textContent = "Copy"; button.classList.remove("is-copied"); },
      1500);
  }, true);
}
"""


def answer_behaviour() -> gr.HTML:
    """The answers' CSS and script; call once inside the Blocks that holds the chat."""
    return gr.HTML(
        f"<style>{ANSWER_CSS}</style>",
        js_on_load=ANSWER_JS,
        elem_id=ELEM_ID,
        container=False,
        padding=False,
    )
