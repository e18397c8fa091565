"""The interface every chat model backend implements (the package picks one)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, TypedDict


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


class ChatModel(Protocol):
    context_window: int

    @property
    def name(self) -> str:
        """Backend and model, e.g. `ollama:llama3.1:8b` (shown with every answer)."""
        ...

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens the rendered prompt takes, chat template included."""
        ...

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        """Yield the answer as text pieces as the model produces them, ending at `stop`."""
        ...
