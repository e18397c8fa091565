"""What makes an answer checkable, bundled for `Assistant`: the supporting-sentence finder,
the claim check and the answer style. Built from settings by `assistant.factory`."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from threading import Lock

from assistant.claims import ClaimChecker
from assistant.embeddings import Embedder
from assistant.evidence import EvidenceFinder
from assistant.quoting import AnswerStyle


@dataclass(frozen=True)
class Checks:
    finder: EvidenceFinder
    claims: ClaimChecker
    style: AnswerStyle = "generated"
    # Decline when no sentence of any source supports an answer (near-topic questions).
    require_support: bool = True

    @classmethod
    def build(
        cls, embedder: Embedder, style: AnswerStyle, *, require_support: bool = True
    ) -> Checks:
        cached = CachedEmbedder(embedder)  # the claim check re-uses the sources' sentences
        return cls(EvidenceFinder(cached), ClaimChecker(cached), style, require_support)


class CachedEmbedder:
    """The embedder, remembering the vectors of recent texts: the claim check embeds the
    same source sentences the supporting-sentence step just did."""

    def __init__(self, embedder: Embedder, size: int = 4096) -> None:
        self.inner, self.size = embedder, size
        self.name = embedder.name
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = Lock()  # answers are checked in several threads at once

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:  # held while embedding: ONNX Runtime uses every core anyway
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
            if missing:
                self._vectors.update(zip(missing, self.inner.embed(missing), strict=True))
            found = [self._vectors[t] for t in texts]
            for t in texts:
                self._vectors.move_to_end(t)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
            return found
