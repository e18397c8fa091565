"""Quote-first answers: the best supporting sentences themselves, each with its citation.

A small model (the packaged SmolLM2-135M) often writes a wrong answer over the right
sources; the sentence that answers the question is already in them. `quoted` answers with
that sentence and no model call (instant, and right whenever retrieval and the sentence
choice are); `both` shows the quote, then the model's answer under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from assistant.evidence import Evidence

AnswerStyle = Literal["generated", "quoted", "both"]
STYLES: tuple[str, ...] = ("generated", "quoted", "both")
MAX_QUOTES = 2
QUOTE_HEAD = "From the sources:"
GENERATED_HEAD = "The model's answer:"


def best_quotes(
    evidence: Sequence[Sequence[Evidence]], limit: int = MAX_QUOTES
) -> list[tuple[int, Evidence]]:
    """(source number, sentence) of the best supporting sentences over all sources: the
    best one, then others nearly as good; one sentence quoted once."""
    ranked = sorted(
        ((n, e) for n, found in enumerate(evidence, start=1) for e in found if e.supports),
        key=lambda item: -item[1].score,
    )
    chosen: list[tuple[int, Evidence]] = []
    seen: set[str] = set()
    for n, e in ranked:
        key = " ".join(e.text.split()).casefold()
        if key in seen or (chosen and e.score < chosen[0][1].score - 0.05):
            continue
        seen.add(key)
        chosen.append((n, e))
        if len(chosen) == limit:
            break
    return chosen


def quote_text(evidence: Sequence[Sequence[Evidence]]) -> str:
    """The quoted answer as Markdown: one quoted sentence a line, each citing its source."""
    quotes = best_quotes(evidence)
    if not quotes:
        return ""
    lines = [f"> “{' '.join(e.text.split())}” [{n}]" for n, e in quotes]
    return f"{QUOTE_HEAD}\n\n" + "\n>\n".join(lines)


def resolve_style(style: str, *, packaged_model: bool) -> AnswerStyle:
    """`auto`: the measured best style for the packaged model, `generated` for any other
    (a real Llama writes better answers than a quote; see the README, *Answers a person
    can check*)."""
    if style == "auto":
        return PACKAGED_DEFAULT if packaged_model else "generated"
    if style not in STYLES:
        raise ValueError(f"answer_style must be one of auto, {', '.join(STYLES)}")
    return style  # type: ignore[return-value]


# Measured on the shipped suite (docs/answers.md): quoted answers 31 of 34 right and 2
# wrong, instantly; the packaged model's own answer is wrong in 23 of 34.
PACKAGED_DEFAULT: AnswerStyle = "quoted"
