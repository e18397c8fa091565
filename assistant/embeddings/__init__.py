"""Embedding backends behind one small interface, picked by `Settings.embedder`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from assistant.settings import Settings


class Embedder(Protocol):
    # Recorded in each collection's metadata: vectors from two models must never be mixed.
    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length vectors, one per text, in order."""
        ...


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "ollama":
        from assistant.embeddings.ollama import OllamaEmbedder

        return OllamaEmbedder(settings)
    from assistant.embeddings.onnx import OnnxMiniLM

    return OnnxMiniLM()
