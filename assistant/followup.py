"""Searching for a follow-up: the two ways a question is made to carry its conversation.

- `rewrite`: the chat model writes a standalone question (`assistant.rewrite`), which is
  searched like any question. Needs a model that follows instructions (an 8B Llama).
- `fusion`: no model. The follow-up is searched alone and together with each earlier
  question (newest first, weight halving with each step back), and the rankings are
  merged by weighted reciprocal-rank fusion; chunks from the files the previous answers
  came from get a small extra weight. Works with the packaged 135M model.

Either way the relevance gate still decides what is off-topic. With `fusion` the gate
looks at the follow-up's own words: a follow-up that retrieves nothing alone is refused,
even when the turn before was on topic (an earlier question must not smuggle an
unrelated one past the gate). With `rewrite` it looks at the rewritten question.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.conversation import Turn
from assistant.retrieval import RRF_K, Retrieval
from assistant.store import Hit

STRATEGIES = ("rewrite", "fusion", "off")
FUSION_TURNS = 2  # earlier questions searched together with the follow-up
DECAY = 0.5  # weight of each earlier question relative to the one after it
SOURCE_PRIOR = 0.5  # share of a turn's weight given to chunks of files it answered from

Search = Callable[[str], Retrieval]


@dataclass(frozen=True)
class FollowUp:
    retrieval: Retrieval
    query: str  # what was searched: the rewrite, the combined text, or the question
    strategy: str  # "rewrite", "fusion", or "" when the question was searched alone


def contextual_queries(turns: Sequence[Turn], question: str) -> list[tuple[str, float]]:
    """The follow-up with each recent earlier question, and each one's weight."""
    recent = [t for t in turns if t.question.strip()][-FUSION_TURNS:]
    out = []
    for age, turn in enumerate(reversed(recent), start=1):
        out.append((f"{turn.question.strip()} {question.strip()}", DECAY ** (age - 1)))
    return out


def fuse(
    alone: list[Hit],
    contextual: Sequence[tuple[list[Hit], float]],
    turns: Sequence[Turn],
    k: int,
) -> list[Hit]:
    """Weighted reciprocal-rank fusion of the rankings, best k first."""
    scores: dict[str, float] = defaultdict(float)
    by_id: dict[str, Hit] = {}
    for hits, weight in [(alone, 1.0), *contextual]:
        for rank, hit in enumerate(hits):
            scores[hit.chunk.id] += weight / (RRF_K + rank + 1)
            by_id.setdefault(hit.chunk.id, hit)
    recent = list(reversed(turns[-FUSION_TURNS:]))
    for chunk_id, hit in by_id.items():
        source = str(hit.chunk.metadata.get("source", ""))
        for age, turn in enumerate(recent):
            if source and source in turn.sources:
                scores[chunk_id] += SOURCE_PRIOR * DECAY**age / (RRF_K + 1)
    ordered = sorted(scores, key=lambda i: -scores[i])
    return [by_id[i] for i in ordered[:k]]


def fused_search(search: Search, turns: Sequence[Turn], question: str, k: int) -> FollowUp:
    started = time.perf_counter()
    alone = search(question)
    queries = contextual_queries(turns, question)
    if not alone.hits or not queries:  # off-topic on its own words: the gate's refusal
        return FollowUp(alone, question, "fusion" if queries else "")
    contextual = [(search(q).hits, w) for q, w in queries]
    hits = fuse(alone.hits, contextual, turns, k)
    found = Retrieval(hits=hits, seconds=time.perf_counter() - started)
    return FollowUp(found, queries[0][0], "fusion")
