"""A conservative token count for servers that cannot tokenize for us.

Over-counting is the safe side: the prompt is fitted to the context window by this count,
so a high estimate drops a source too many, a low one lets the server truncate the prompt.
"Characters / 3" is not safe: small-vocabulary tokenizers (SmolLM2, Llama 2) spend a token
per digit and several per non-ASCII character, and numbers-heavy text then runs ~2.5x over
it. So we walk the text the way byte-level BPE pre-tokenizers do: a word (with its leading
space) is one token per 4 letters, every digit, punctuation mark and whitespace run is one,
a non-ASCII character is one per UTF-8 byte; plus 10%. Over the seed corpus this is 45-55%
above SmolLM2's true count for prose and never below it on numbers or accented/CJK text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.llm.base import Message

_PIECE = re.compile(r" ?[A-Za-z]+|\d|\s+|[^\sA-Za-z\d]")
MARGIN = 1.1
# Role markers and separators a chat template puts around each message (Llama 3: 5,
# ChatML: 5, Llama 2: up to 9 for the system block), plus the assistant's opening.
TEMPLATE_TOKENS_PER_MESSAGE = 8


def estimate_text(text: str) -> int:
    n = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        if piece[-1].isalpha():
            n += 1 + (len(piece.lstrip()) - 1) // 4
        else:
            n += 1 if piece.isascii() else len(piece.encode())
    return int(n * MARGIN)


def estimate_tokens(messages: Sequence[Message]) -> int:
    body = sum(estimate_text(m["content"]) for m in messages)
    return body + TEMPLATE_TOKENS_PER_MESSAGE * (len(messages) + 1)
