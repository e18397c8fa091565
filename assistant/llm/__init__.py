"""Chat model backends behind one small interface, picked by `Settings.backend`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, TypedDict

from assistant.settings import Settings


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


class ChatModel(Protocol):
    name: str
    context_window: int

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens the rendered prompt takes, chat template included."""
        ...

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        """Yield the answer as text pieces as the model produces them, ending at `stop`."""
        ...


def make_chat_model(settings: Settings) -> ChatModel:
    # Imported lazily: each backend pulls its own heavy client library.
    if settings.backend == "ollama":
        from assistant.llm.ollama import OllamaChat

        return OllamaChat(settings)
    if settings.backend == "openai":
        from assistant.llm.openai import OpenAIChat

        return OpenAIChat(settings)
    if settings.llamacpp_engine == "llama-cpp-python":
        from assistant.llm.llamacpp import LlamaCppChat

        return LlamaCppChat(settings)
    from assistant.llm.llamaserver import LlamaServerChat

    return LlamaServerChat(settings)
