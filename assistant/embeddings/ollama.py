"""Embeddings from an Ollama server (`all-minilm` there is the same model as our default)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import ollama

from assistant.llm.ollama import make_client, ollama_error
from assistant.settings import Settings


class OllamaEmbedder:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client = make_client(settings)
        self.name = f"ollama:{settings.ollama_embed_model}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        s = self._settings
        try:
            response = self._client.embed(
                model=s.ollama_embed_model, input=list(texts), keep_alive=s.ollama_keep_alive
            )
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError) as exc:
            raise ollama_error(exc, s, s.ollama_embed_model) from exc
        return [list(v) for v in response.embeddings]
