"""What rendering an answer on the server costs while it streams (ui/markdown.py).

The chat re-renders the whole answer (Markdown to HTML, claim marks, sources, footer) at
every streamed piece, so a long answer costs more per piece than a short one. This prints,
per answer size, the time of one render and the CPU time of streaming it word by word
(one render per word, as the chat does per token), with four sources.

    .venv/bin/python bench/answer_render.py
"""

from __future__ import annotations

import time

from assistant.answering import Answer, Source
from ui import render

SOURCES = [
    Source(n, f"/s/00{n}.txt", "t", f"line {n}", "snippet " * 30, 0.8, f"c-{n}", collection="d")
    for n in (1, 2, 3, 4)
]
PARAGRAPH = "Llama 2 came out in July 2023 [1] under a licence that allows commercial use [2]. "
TAIL = "- one\n- two\n\n| a | b |\n|--|--|\n| 1 | 2 |\n\n```py\nx = 1 < 2\n```\n"


def answer_of(chars: int) -> str:
    paragraphs = ["".join([PARAGRAPH] * 3)] * max(1, chars // (3 * len(PARAGRAPH)))
    return "\n\n".join(paragraphs) + "\n\n" + TAIL


def one_render_ms(text: str, repeat: int = 50) -> float:
    final = Answer("q", text, SOURCES, False, "m", timings={"total_s": 1.0})
    started = time.perf_counter()
    for _ in range(repeat):
        render.chat_message(text, SOURCES, final=final)
    return (time.perf_counter() - started) / repeat * 1000


def streamed_s(text: str) -> tuple[int, float]:
    words, shown = text.split(" "), ""
    started = time.process_time()
    for word in words:
        shown += word + " "
        render.chat_message(shown, SOURCES)
    return len(words), time.process_time() - started


def main() -> None:
    print("| answer | one render | streamed word by word | CPU per word |")
    print("|---|---|---|---|")
    for chars in (1_000, 4_000, 16_000):
        text = answer_of(chars)
        words, cpu = streamed_s(text)
        print(
            f"| {len(text):,} chars | {one_render_ms(text):.1f} ms | {words} renders,"
            f" {cpu:.2f} s CPU | {cpu / words * 1000:.2f} ms |"
        )


if __name__ == "__main__":
    main()
