"""A follow-up rewritten by the chat model into a question that stands alone.

"How many tokens was it trained on?" searched on its own words finds nothing about
LLaMA 3; rewritten as "How many tokens was LLaMA 3 trained on?" it does. The prompt is
short and token-counted: the last few turns' questions and the start of their answers,
the follow-up, and an instruction to reply with the question only. What the model
writes is cleaned and sanity-checked; a reply that is not a plausible question falls
back to the follow-up as typed, so a bad rewrite never makes things worse than no
rewrite.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.conversation import Turn, clip
from assistant.llm.base import ChatModel, Message

REWRITE_SYSTEM = (
    "You rewrite the last question of a conversation so that it can be understood"
    " without the conversation. Replace words like it, they, that, this one with the"
    " names they refer to. Keep the question's meaning; do not answer it. If it already"
    " stands alone, repeat it unchanged. Reply with the rewritten question only."
)
REWRITE_TURNS = 3  # the last few turns resolve almost every reference
REWRITE_ANSWER_CHARS = 160
REWRITE_MAX_TOKENS = 48
PROMPT_BUDGET = 400  # tokens; turns are dropped oldest first beyond it
_PREFIX = re.compile(r"^\s*(?:rewritten(?: question)?|standalone(?: question)?|question)\s*:\s*",
                     re.IGNORECASE)  # fmt: skip


def rewrite_messages(turns: Sequence[Turn], question: str) -> list[Message]:
    lines = []
    for t in turns:
        lines.append(f"User: {t.question.strip()}")
        if answer := clip(t.answer, REWRITE_ANSWER_CHARS):
            lines.append(f"Assistant: {answer}")
    user = (
        "Conversation:\n"
        + "\n".join(lines)
        + f"\n\nLast question: {question.strip()}\n\nRewritten question:"
    )
    return [{"role": "system", "content": REWRITE_SYSTEM}, {"role": "user", "content": user}]


def clean(reply: str, question: str) -> str:
    """The model's reply as a search query, or `question` when the reply is unusable
    (empty, several lines of chatter, or far longer than a question)."""
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    text = _PREFIX.sub("", lines[0] if lines else "").strip().strip("\"'`").strip()
    if not text or len(text) > max(200, 4 * len(question)):
        return question
    return text


def rewrite(model: ChatModel, turns: Sequence[Turn], question: str) -> str:
    """The follow-up as a standalone question, by `model` (greedy, at most 48 tokens)."""
    recent = list(turns[-REWRITE_TURNS:])
    messages = rewrite_messages(recent, question)
    while len(recent) > 1 and model.count_tokens(messages) > PROMPT_BUDGET:
        recent = recent[1:]
        messages = rewrite_messages(recent, question)
    reply = "".join(model.stream(messages, max_tokens=REWRITE_MAX_TOKENS, stop=("\n\n",)))
    return clean(reply, question)
