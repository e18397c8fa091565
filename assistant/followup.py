"""Searching for a follow-up: the two ways a question is made to carry its conversation.

- `rewrite`: the chat model writes a standalone question (`assistant.rewrite`), which is
  searched like any question. Needs a model that follows instructions (an 8B Llama).
- `fusion`: no model. The follow-up is searched alone and together with each earlier
  question (newest first, weight halving with each step back), and the rankings are
  merged by weighted reciprocal-rank fusion; chunks from the files the previous answers
  came from get a small extra weight. Works with the packaged 135M model.

Either way the relevance gate still decides what is off-topic. With `fusion`, only a
follow-up that refers back (it, that, they, there, ...; or too few words of its own to
stand alone: "Why?", "And the 70B?") is searched with the conversation; one with words of
its own and no reference ("What is the capital of Australia?") is judged on its own words,
so an off-topic question is refused whatever was asked before it. A follow-up that refers
back but is off-topic anyway ("Is it going to rain?") is searched with the conversation,
and declining is then the model's job. With `rewrite` the gate judges the rewrite.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.conversation import Turn
from assistant.retrieval import RRF_K, Retrieval
from assistant.store import Hit
from assistant.store.words import words

STRATEGIES = ("rewrite", "fusion", "off")
FUSION_TURNS = 2  # earlier questions searched together with the follow-up
DECAY = 0.5  # weight of each earlier question relative to the one after it
SOURCE_PRIOR = 0.5  # share of a turn's weight given to chunks of files it answered from
ALONE = 1.0  # weight of the follow-up searched on its own words
MIN_OWN_WORDS = 2  # fewer content words than this cannot stand alone
REFERRING = frozenset(
    [
        "it", "its", "it's", "itself", "that", "this", "these", "those", "they", "them",
        "their", "theirs", "he", "him", "his", "she", "her", "hers", "there", "then", "one",
        "ones", "same", "former", "latter", "such",
    ]
)  # fmt: skip

Search = Callable[[str, int], Retrieval]  # a query and how many hits


@dataclass(frozen=True)
class FollowUp:
    retrieval: Retrieval
    query: str  # what was searched: the rewrite, the combined text, or the question
    strategy: str  # "rewrite", "fusion", or "" when the question was searched alone


def refers_back(question: str) -> bool:
    """Does the question lean on the conversation: a word that points back, or too few
    words of its own to be searched alone?"""
    said = [w.replace("'s", "") for w in question.lower().replace("\u2019", "'").split()]
    if REFERRING & {w.strip('?,.!;:"()') for w in said}:
        return True
    return len([t for t in words(question) if t not in REFERRING]) < MIN_OWN_WORDS


def contextual_queries(turns: Sequence[Turn], question: str) -> list[tuple[str, float]]:
    """The follow-up with each recent earlier question, and each one's weight."""
    recent = [t for t in turns if t.question.strip()][-FUSION_TURNS:]
    out = []
    for age, turn in enumerate(reversed(recent), start=1):
        out.append((f"{turn.question.strip()} {question.strip()}", DECAY ** (age - 1)))
    return out


def fuse(rankings: Sequence[tuple[list[Hit], float]], turns: Sequence[Turn], k: int) -> list[Hit]:
    """Weighted reciprocal-rank fusion of the rankings, best k first."""
    scores: dict[str, float] = defaultdict(float)
    by_id: dict[str, Hit] = {}
    for hits, weight in rankings:
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


def fused_search(
    search: Search, turns: Sequence[Turn], question: str, k: int, depth: int
) -> FollowUp:
    """The follow-up searched alone and with the earlier questions (`depth` hits each,
    so the fused order does not depend on k), fused, best k; a follow-up that stands on
    its own words is searched (and gated) on them alone, exactly as a first question."""
    started = time.perf_counter()
    queries = contextual_queries(turns, question)
    if not queries or not refers_back(question):
        return FollowUp(search(question, k), question, "")
    rankings = [(search(q, depth).hits, w) for q, w in [(question, ALONE), *queries]]
    hits = fuse(rankings, turns, k)
    found = Retrieval(hits=hits, seconds=time.perf_counter() - started)
    return FollowUp(found, queries[0][0], "fusion")
