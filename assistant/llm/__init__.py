"""Chat model backends behind one small interface (`base.ChatModel`), picked by
`Settings.backend`."""

from __future__ import annotations

from assistant.llm.base import ChatModel, Message
from assistant.settings import Settings

__all__ = ["ChatModel", "Message", "make_chat_model"]


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
