"""Wire the core together from settings: embedder -> store -> retriever -> model -> assistant."""

from __future__ import annotations

from functools import cached_property

from assistant.answering import Assistant
from assistant.chatlog import ChatLog
from assistant.embeddings import make_embedder
from assistant.llm import ChatModel, make_chat_model
from assistant.retrieval import Retriever
from assistant.settings import Settings
from assistant.store import Store
from assistant.store.server import ChromaServer


class Components:
    """Builds each part on first use, so `assistant docs` never loads the chat model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def store(self) -> Store:
        s = self.settings
        server = None
        if s.chroma_url:
            server = ChromaServer.from_settings(s)
        return Store(s.chroma_dir, make_embedder(s), s.collection, server, s.keyword_database)

    @cached_property
    def retriever(self) -> Retriever:
        s = self.settings
        return Retriever(
            self.store,
            top_k=s.top_k,
            min_similarity=s.min_similarity,
            min_keyword_coverage=s.min_keyword_coverage,
            hybrid=s.hybrid,
        )

    @cached_property
    def model(self) -> ChatModel:
        return make_chat_model(self.settings)

    @cached_property
    def assistant(self) -> Assistant:
        s = self.settings
        return Assistant(
            self.retriever,
            self.model,
            max_answer_tokens=s.max_answer_tokens,
            max_question_chars=s.max_question_chars,
            on_answer=ChatLog(s.chat_log_dir).record if s.chat_log else None,
        )
