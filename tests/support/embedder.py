"""The real embedder with a record of what it was asked to embed."""

from collections.abc import Sequence


class Recording:
    def __init__(self, real) -> None:
        self.real, self.name, self.texts = real, real.name, []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts += texts
        return self.real.embed(texts)
