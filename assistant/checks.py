"""What makes an answer checkable, bundled for `Assistant`: the supporting-sentence finder,
the claim check and the answer style. Built from settings by `assistant.factory`."""

from __future__ import annotations

from dataclasses import dataclass

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
        return cls(EvidenceFinder(embedder), ClaimChecker(embedder), style, require_support)
