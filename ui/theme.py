"""The look of the chat page: Gradio's default theme on locally served fonts, its colours
chosen for contrast (WCAG AA, 4.5:1 for text) in light and dark, and CSS for what the
theme's variables do not cover (the app's own classes, a visible focus ring).

Gradio follows the system's light/dark setting by itself (`prefers-color-scheme`, with a
`.dark` class on the page); every colour here therefore comes in a light and a dark
variant. tests/web/test_accessibility.py runs axe-core on every page in both."""

from __future__ import annotations

import gradio as gr

# The fonts Gradio ships and serves itself (no Google Fonts), minus the SemiBold files: in
# gradio 6.31 they hold ~55 glyphs, so 600-weight text (headings, buttons) fell back to
# DejaVu letter by letter. Declaring 400 and 700 only makes the browser use the complete
# Bold file for 600.
FONTS = (
    gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)),
    "ui-sans-serif",
    "system-ui",
    "sans-serif",
)
MONO = (
    gr.themes.LocalFont("IBM Plex Mono", weights=(400, 700)),
    "ui-monospace",
    "Consolas",
    "monospace",
)

# Gradio's defaults put white text on orange-500 (2.8:1) and red-500 (3.8:1), and soft text
# in zinc-400 (1.9:1 on white); one shade or two darker (lighter in dark mode) passes.
THEME = gr.themes.Default(font=FONTS, font_mono=MONO).set(
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_400",
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_hover_dark="*primary_800",
    button_cancel_background_fill="#b91c1c",
    button_cancel_background_fill_dark="#b91c1c",
    button_cancel_background_fill_hover="#991b1b",
    button_cancel_background_fill_hover_dark="#991b1b",
    link_text_color="*secondary_700",
    link_text_color_dark="*secondary_300",
    link_text_color_hover="*secondary_800",
    link_text_color_hover_dark="*secondary_200",
    link_text_color_visited="*secondary_700",
    link_text_color_visited_dark="*secondary_300",
    link_text_color_active="*secondary_700",
    link_text_color_active_dark="*secondary_300",
    error_text_color="#b91c1c",
    error_text_color_dark="#fca5a5",
)

# Appended to the app's CSS, so these win over its rules of the same specificity. Soft text
# is the theme's subdued colour, not an opacity (which lowered its contrast below 4.5:1).
THEME_CSS = """
:root { --focus-ring: #1d4ed8; --evidence-bg: #fde68a; --evidence-fg: #1f2937;
  --claim-wave: #b91c1c; }
.dark { --focus-ring: #93c5fd; --evidence-bg: #713f12; --evidence-fg: #fef3c7;
  --claim-wave: #fca5a5; }
.src-anchor, .src-snippet, .answer-meta, .answer-pending, .docs-summary,
.upload-status.is-busy, .res-queued .badge, footer, footer a, footer button {
  opacity: 1; color: var(--body-text-color-subdued); }
/* Gradio dims every chat message to opacity .8, which takes soft text below 4.5:1; its rule
   is loaded with the Chatbot, after this CSS, so only !important wins. */
.message-wrap .prose.chatbot.md { opacity: 1 !important; }
/* A Markdown block is as tall as its text, yet a heading's rounding left it 1 px short
   and scrollable: a scroll area no keyboard can reach (axe: scrollable-region-focusable).
   Gradio sets that overflow inline, hence !important. */
.block:has(> [data-testid="markdown-wrapper"]) { overflow: visible !important; }
mark.evidence { background: var(--evidence-bg); color: var(--evidence-fg); }
mark.claim-unsupported { text-decoration-color: var(--claim-wave); }
.answer-error, .res-failed .badge, .res-failed .res-reason, .claim-reason, .claims-summary {
  color: var(--error-text-color); }
/* A ring on whatever the keyboard focuses; Gradio's own rules drop the outline of text
   boxes without a container (`outline: none`, more specific), hence !important. */
.gradio-container :is(a, button, input, select, textarea, summary, [tabindex]):focus-visible {
  outline: 3px solid var(--focus-ring) !important; outline-offset: 2px; }
"""
