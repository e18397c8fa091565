"""The supporting sentence: which sentence of each source best answers the question.

Each source is split into sentences (a line without a full stop, like a heading
"LLaMA 2 (July 2023)", is a sentence too); each sentence is scored by the shipped
embedder's cosine to the question and by how much of the question's rarer words it holds.
A sentence *supports* an answer when it holds enough of those words (or is very close in
meaning) and, for a question that asks for a date, an amount or a person, holds one (a
person the question does not already name), in a passage that names something the question
names, if it names anything.
When no sentence of any source supports an answer, the documents are taken not to answer
the question (the near-topic case: "How much did Meta pay for Instagram?" retrieves
passages about Instagram, none of them with a price).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from assistant.embeddings import Embedder
from assistant.store.words import IRREGULAR, words

# A sentence ends at . ! ? (followed by space and a capital, digit or quote) or at a line end.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]*[A-Z0-9])|\n+")
_MIN_WORDS = 3
_FULL_STOP = re.compile(r"[.!?…][\"'”’)\]]*\s*$")
# Words that say what kind of answer is asked for, never what it is about.
_QUESTION_WORDS = frozenset(
    [
        "about",
        "after",
        "all",
        "also",
        "any",
        "been",
        "being",
        "could",
        "describe",
        "did",
        "do",
        "does",
        "explain",
        "give",
        "happen",
        "happened",
        "into",
        "know",
        "long",
        "many",
        "much",
        "name",
        "named",
        "quickly",
        "says",
        "tell",
        "there",
        "these",
        "those",
        "would",
        "according",
        "large",
        "big",
    ]
)
_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE = re.compile(rf"\b(?:1[5-9]\d\d|20\d\d)\b|\b(?:{_MONTH})\b", re.IGNORECASE)
_AMOUNT = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    r"|thirty|forty|fifty|hundred|thousand|million|billion|trillion|dozen|half)\b",
    re.IGNORECASE,
)
# Whitespace before a word that does not start a sentence (nor the second one of a pair:
# "He was an academic. Under his leadership, ..." names nobody).
_MID_SENTENCE = r"(?<![\s.!?…])(?<![.!?…][\"'”’)\]])\s+"
_NAME = re.compile(_MID_SENTENCE + r"([A-Z][a-zà-ÿ][\w'’-]*)")  # a capitalised word, whole
_MONEY = re.compile(r"[$€£¥]\s?\d|\b(?:dollars?|euros?|pounds|usd|eur|kroner|cents?)\b", re.I)
# What the question asks for: (pattern on the question, pattern the sentence must hold).
_ANSWER_TYPES = (
    (
        re.compile(
            r"^\s*(?:how much\b.*\b(?:cost|costs|pay|paid|spend|spent|charge|charged|worth"
            r"|earn|earned)|what (?:is|was|were|are) the (?:price|salary|fee)s?)\b",
            re.I,
        ),
        _MONEY,
    ),
    (re.compile(r"^\s*(?:when|(?:in |on )?what (?:year|date|month|day))\b", re.I), _DATE),
    (
        re.compile(
            r"^\s*(?:how (?:much|many|large|long|big|quickly|fast|old)"
            r"|what (?:share|percentage|proportion|fraction|amount|number|price|size))\b",
            re.I,
        ),
        _AMOUNT,
    ),
    (re.compile(r"^\s*who\b", re.I), _NAME),
)


@dataclass(frozen=True)
class Evidence:
    """A sentence of a source's chunk, with where it is in the chunk's text."""

    text: str
    start: int  # character offsets into the chunk text
    end: int
    score: float  # how well it answers the question (higher is better)
    supports: bool  # holds the question's key words and the kind of answer asked for


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace trimmed, short fragments left out."""
    spans, begin = [], 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        stop = match.start() if match else len(text)
        piece = text[begin:stop]
        lead = len(piece) - len(piece.lstrip())
        start, end = begin + lead, begin + len(piece.rstrip())
        if end > start and len(_WORD.findall(text[start:end])) >= _MIN_WORDS:
            spans.append((start, end))
        begin = match.end() if match else len(text)
    return spans


_WORD = re.compile(r"\w+")


def stem(word: str) -> str:
    """A crude stem, so 'released' meets 'release', 'models' meets 'model' and 'led'
    meets 'leads'. (The keyword index stems with Snowball, `words.stem`; swapping it in
    here changed which follow-up sentences are found, one better and one worse, and would
    move the claim check's measured flags, so this one stays.)"""
    if word in IRREGULAR:
        word = IRREGULAR[word]
    for suffix, keep in (("ing", 4), ("ed", 4), ("es", 4), ("s", 3)):  # "wins": "win"
        if len(word) >= len(suffix) + keep and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


# Ways of saying who leads something, each taken as "lead" on both sides: "Who is in charge
# of FAIR?" is answered by "Led by Yann LeCun", "Who heads FAIR?" by "hired ... to run ...
# FAIR", "Who runs Meta AI?" by "Managing Director of Meta AI". Not "running" (a model runs
# on a laptop) nor bare "charge" (a price).
_IN_CHARGE = re.compile(r"\b(?:in charge|at the helm)\b", re.IGNORECASE)
_LEADS = frozenset(
    ["head", "heads", "headed", "run", "runs", "ran", "director", "directors", "directs",
     "directed", "manager", "managers", "manages", "managed", "managing", "chief", "boss",
     "leader", "leaders", "leadership"]
)  # fmt: skip


def terms(text: str) -> set[str]:
    words_ = words(_IN_CHARGE.sub(" lead ", text))
    return {"lead" if w in _LEADS else stem(w) for w in words_ if w not in _QUESTION_WORDS}


def answer_type(question: str) -> re.Pattern[str] | None:
    """What a sentence must hold to answer the question (a date, an amount, a name)."""
    return next((need for asks, need in _ANSWER_TYPES if asks.search(question)), None)


class EvidenceFinder:
    """Scores sentences with the shipped embedder plus lexical overlap; no model download.

    `min_coverage`: share of the question's words (weighted by rarity among the sentences
    at hand) a supporting sentence must hold; `min_similarity`: a sentence this close in
    meaning supports the answer whatever its words."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        min_coverage: float = 0.5,
        min_similarity: float = 0.6,
        per_source: int = 2,
        semantic_weight: float = 0.5,
        novelty_weight: float = 0.1,
    ) -> None:
        self.semantic_weight, self.novelty_weight = semantic_weight, novelty_weight
        self.embedder = embedder
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity
        self.per_source = per_source

    def find(self, question: str, texts: Sequence[str]) -> list[list[Evidence]]:
        """For each text, its best sentences (best first; at most `per_source`)."""
        spans = [sentence_spans(t) for t in texts]
        sentences = [t[a:b] for t, s in zip(texts, spans, strict=True) for a, b in s]
        if not sentences:
            return [[] for _ in texts]
        vectors = np.asarray(self.embedder.embed([question, *sentences]), dtype=np.float32)
        cosines = iter((vectors[1:] @ vectors[0]).tolist())
        weights = _Weights(question, sentences)
        out = []
        for text, text_spans in zip(texts, spans, strict=True):
            units = [_Unit(text, a, b, next(cosines), weights) for a, b in text_spans]
            # A sentence and the next one together: "On March 3, 2023, disaster struck.
            # Someone uploaded LLaMA's weights ..." answers what neither does alone.
            pairs = [
                first.joined(second, weights)
                for first, second in pairwise(units)
                if "\n\n" not in text[first.end : second.start]  # not across paragraphs
            ]
            # A passage that names none of what the question names ("Who runs Reality
            # Labs?" and a passage on "a new research lab called FAIR") answers nothing,
            # whichever of the question's other words its sentences hold.
            named = not weights.names or bool(weights.names & _words(text))
            scored = [self._evidence(u, question, named) for u in [*units, *pairs]]
            scored.sort(key=lambda e: (-e.supports, -e.score))
            out.append(_best(scored, self.per_source))
        return out

    def _evidence(self, unit: _Unit, question: str, named: bool) -> Evidence:
        need = answer_type(question)
        typed = _holds(need, unit.text, question)
        asks = unit.text.rstrip().endswith("?")  # a question in the text answers nothing
        # A heading ("Meta AI: LLaMA and Open Source Strategy") names a topic; it answers
        # only when it holds the kind of answer asked for ("LLaMA 2 (July 2023)").
        heading = not need and not unit.pair and not _FULL_STOP.search(unit.text)
        says_more = unit.novelty >= MIN_NOVELTY  # not just the question's own words
        close = unit.coverage >= self.min_coverage or unit.cosine >= self.min_similarity
        meaning = self.semantic_weight
        score = meaning * unit.cosine + (1 - meaning) * unit.coverage
        score += self.novelty_weight * unit.novelty  # an answer adds to the question
        score += (0.1 if typed and need else 0.0) - 0.03 * unit.pair
        score -= 0.2 * asks + 0.2 * (not says_more) + 0.15 * heading
        supports = typed and close and says_more and named and not asks
        return Evidence(unit.text, unit.start, unit.end, round(score, 4), supports)


MIN_NOVELTY = 0.25  # share of a sentence's words the question does not already hold


def _holds(need: re.Pattern[str] | None, text: str, question: str) -> bool:
    """Whether a sentence holds the kind of answer asked for (`answer_type`). A name must be
    one the question does not say, and not a month: "Who leads Reality Labs?" is not
    answered by "The Reality Labs division was burning $10-15 billion per year"."""
    if need is None:
        return True
    if need is _NAME:
        said = _words(question)
        names = [n for n in _NAME.findall(text) if not _DATE.fullmatch(n)]  # not "December"
        return any(name.lower() not in said for name in names)
    return bool(need.search(text))


class _Weights:
    """Each question term weighted by how rare it is among the sentences at hand (a word
    every passage has, like 'Meta', tells little; a word none has, like 'employees',
    weighs most and lowers every sentence's coverage)."""

    def __init__(self, question: str, sentences: list[str]) -> None:
        self.wanted = terms(question)
        self.names = _names(question)
        self.acronyms = _acronyms(question)
        have = [terms(s) for s in sentences]
        n = len(sentences)
        self.weight = {
            t: math.log(1 + (n + 1) / (1 + sum(1 for h in have if t in h))) for t in self.wanted
        }
        self.total = sum(self.weight.values())

    def coverage(self, held: set[str]) -> float:
        if not self.total:
            return 0.0
        for acronym, spelled in self.acronyms.items():  # "LLMs" holds "large language models"
            if acronym in held or acronym + "s" in held:
                held = held | spelled
        return sum(w for t, w in self.weight.items() if t in held) / self.total

    def novelty(self, held: set[str]) -> float:
        return len(held - self.wanted) / len(held) if held else 0.0


def _names(question: str) -> set[str]:
    """What a question names: its capitalised words, whole, but not the first of a sentence
    ("Why can banks use LLaMA ... OpenAI's API?": llama, openai, api)."""
    return {n.lower().removesuffix("'s").removesuffix("’s") for n in _PROPER.findall(question)}


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


_PROPER = re.compile(_MID_SENTENCE + r"([A-Z][\w'’-]*)")  # also "FAIR", "LLaMA"


def _acronyms(question: str) -> dict[str, set[str]]:
    """Acronyms of runs of 3-4 words of the question ("large language models": "llm"),
    each with the terms it stands for."""
    words = [w for w in _WORD.findall(question.lower()) if w not in _STOPWORDS_SHORT]
    found: dict[str, set[str]] = {}
    for size in (3, 4):
        for i in range(len(words) - size + 1):
            run = words[i : i + size]
            found["".join(w[0] for w in run)] = {stem(w) for w in run}
    return found


_STOPWORDS_SHORT = frozenset(["a", "an", "and", "of", "the", "to", "in", "on", "for", "with", "by"])


class _Unit:
    """A sentence (or two adjacent ones) of a text with what scores it."""

    def __init__(
        self, text: str, start: int, end: int, cosine: float, weights: _Weights, pair: bool = False
    ) -> None:
        self.source, self.start, self.end = text, start, end
        self.text = text[start:end]
        self.cosine, self.pair = cosine, pair
        self.held = terms(self.text)
        self.coverage = weights.coverage(self.held)
        self.novelty = weights.novelty(self.held)

    def joined(self, other: _Unit, weights: _Weights) -> _Unit:
        cosine = max(self.cosine, other.cosine)
        return _Unit(self.source, self.start, other.end, cosine, weights, pair=True)


def _best(scored: list[Evidence], limit: int) -> list[Evidence]:
    """The best sentence, and the next ones only while they support the answer nearly as
    well (a second quote that says less only dilutes the first) and do not overlap one
    already chosen (a sentence and the pair holding it would quote it twice)."""
    if not scored:
        return []
    chosen = [scored[0]]
    for e in scored[1:]:
        if len(chosen) == limit:
            break
        close = e.supports and e.score >= chosen[0].score - 0.05
        if close and all(e.end <= c.start or c.end <= e.start for c in chosen):
            chosen.append(e)
    return chosen


def supported(evidence: Sequence[Sequence[Evidence]]) -> bool:
    """Whether any sentence of any source supports an answer."""
    return any(e.supports for found in evidence for e in found)


def snippet_around(text: str, evidence: Evidence | None, size: int = 300) -> str:
    """A window of about `size` characters of `text` (whitespace collapsed) that holds the
    evidence sentence, so the highlight is always inside the snippet people see."""
    if evidence is None or evidence.end - evidence.start >= size:
        start, end = (evidence.start, evidence.end) if evidence else (0, size)
    else:
        spare = size - (evidence.end - evidence.start)
        start = max(0, evidence.start - spare // 3)
        end = min(len(text), start + size)
        start = max(0, min(start, end - size))
    window = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + window + ("…" if end < len(text) else "")


def as_evidence(item: Evidence | dict[str, Any]) -> Evidence:
    """An Evidence from itself or from its dict (as history and logs store it)."""
    if isinstance(item, Evidence):
        return item
    return Evidence(
        str(item.get("text", "")),
        int(item.get("start", 0)),
        int(item.get("end", 0)),
        float(item.get("score", 0.0)),
        bool(item.get("supports", False)),
    )
