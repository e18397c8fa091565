"""Earlier turns of a conversation, and how many of them fit the prompt.

The prompt of a follow-up is laid out so that it only grows at its end from one turn to
the next: the system prompt, then the earlier turns (each question and a clipped answer,
never their sources), then the current sources and question. A prompt cache (llama.cpp's
prefix reuse, vLLM's) can then reuse everything before the current turn.

Earlier turns get what is left of the context after the current question's sources, and
at most `history_tokens`: newest first, whole turns only, so older turns drop out first.
The current question's sources are never given up for history.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.llm.base import Message

# An earlier answer is clipped to its start: the gist is enough to resolve "it" and "that",
# and every history token costs prefill time on each later turn.
ANSWER_CHARS = 300
MAX_TURNS = 8  # never look further back than this, whatever the budget
_SOURCES_TAIL = re.compile(r"\n+Sources:\n.*\Z", re.DOTALL)  # the list /v1 appends


@dataclass(frozen=True)
class Turn:
    """One earlier question and its answer, as a follow-up sees it."""

    question: str
    answer: str = ""
    sources: tuple[str, ...] = ()  # files the answer came from, cited ones first
    refused: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Turn:
        """From a stored turn or an API body: `question`, `answer`, `sources` (file names
        or source dicts as answers carry them), `refused`."""
        found = data.get("sources") or []
        files = [s if isinstance(s, str) else str(s.get("source", "")) for s in found]
        cited = [
            str(s.get("source", "")) for s in found if isinstance(s, Mapping) and s.get("cited")
        ]
        ordered = list(dict.fromkeys([*cited, *files]))
        return cls(
            question=str(data.get("question", "")),
            answer=str(data.get("answer") or ""),
            sources=tuple(f for f in ordered if f),
            refused=bool(data.get("refused", False)),
        )


def clip(answer: str, limit: int = ANSWER_CHARS) -> str:
    """An earlier answer as the prompt carries it: without an appended source list,
    cut at a word boundary to `limit` characters."""
    text = " ".join(_SOURCES_TAIL.sub("", answer).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def turn_messages(turns: Iterable[Turn]) -> list[Message]:
    """Earlier turns as chat messages, oldest first."""
    out: list[Message] = []
    for t in turns:
        out.append({"role": "user", "content": t.question.strip()})
        out.append({"role": "assistant", "content": clip(t.answer) or "(no answer)"})
    return out


def with_history(messages: list[Message], turns: Sequence[Turn]) -> list[Message]:
    """`messages` (system first, then the current question) with `turns` between them."""
    return [messages[0], *turn_messages(turns), *messages[1:]]


def fit_turns(
    messages: list[Message],
    turns: Sequence[Turn],
    count: Callable[[Sequence[Message]], int],
    room: int,
) -> list[Turn]:
    """The newest turns (oldest first, as the prompt takes them) whose messages add at
    most `room` tokens to `messages`; a turn that does not fit ends the search, so the
    kept turns are always the most recent ones, unbroken."""
    if room <= 0 or not turns:
        return []
    base = count(messages)
    kept: list[Turn] = []
    for turn in reversed(turns[-MAX_TURNS:]):
        candidate = [turn, *kept]
        if count(with_history(messages, candidate)) - base > room:
            break
        kept = candidate
    return kept


def turns_from_messages(messages: Sequence[Mapping[str, str]]) -> tuple[list[Turn], str]:
    """An OpenAI-style message list as earlier turns and the last user question. Each
    user message opens a turn; the assistant message after it is that turn's answer
    (system messages are skipped; the caller decides what they mean)."""
    turns: list[Turn] = []
    question: str | None = None
    answer = ""
    for m in messages:
        role, content = m.get("role"), m.get("content") or ""
        if role == "user":
            if question is not None:
                turns.append(Turn(question, answer))
            question, answer = content, ""
        elif role == "assistant" and question is not None:
            answer = f"{answer}\n{content}".strip()
    return turns, question or ""
