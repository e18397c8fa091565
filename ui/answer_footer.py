"""The footer under a finished answer (or a refusal, or an error): the model, how long it
took (time to first token, total, tokens per second when the model streamed) and a
button that copies the answer's own text, without its sources.

The text to copy rides in the button's `value` (an attribute the Chatbot's sanitizer
keeps), so the page's script copies exactly what the model wrote, Markdown and `[n]`
markers included, not the rendered bubble with its source cards.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence


def tokens_per_second(timings: Mapping[str, float]) -> float | None:
    """Generation speed after the first token: (tokens - 1) over the time they took.
    None when unknown (no model call: a refusal or a quoted answer)."""
    tokens, first, total = (timings.get(k, 0.0) for k in ("tokens", "first_token_s", "total_s"))
    if tokens < 2 or total <= first or "first_token_s" not in timings:
        return None
    return (tokens - 1) / (total - first)


def timing_parts(timings: Mapping[str, float]) -> list[str]:
    parts = []
    if "first_token_s" in timings:
        parts.append(f"first token {timings['first_token_s']:.1f} s")
    if "total_s" in timings:
        parts.append(f"total {timings['total_s']:.1f} s")
    speed = tokens_per_second(timings)
    if speed is not None:
        parts.append(f"{speed:.1f} tokens/s")
    return parts


def copy_button(text: str) -> str:
    value = html.escape(text, quote=True).replace("\r", "&#13;").replace("\n", "&#10;")
    return (
        f'<button type="button" class="answer-copy" value="{value}"'
        ' title="Copy the answer (without its sources)">Copy</button>'
    )


def footer_html(
    text: str, model: str, timings: Mapping[str, float] | None = None, notes: Sequence[str] = ()
) -> str:
    """One line: model · timings · notes, then the copy button. One HTML block, no
    newline, so Markdown passes it through."""
    parts = [p for p in (model, *timing_parts(timings or {}), *notes) if p]
    meta = html.escape(" · ".join(parts), quote=False)
    return (
        f'<div class="answer-footer"><span class="answer-meta">{meta}</span>'
        f"{copy_button(text)}</div>"
    )
