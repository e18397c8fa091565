"""Claims the sources do not support: each sentence of a generated answer, checked.

A sentence is marked when it states a number, a date, a name or a quoted term that no
source (nor the question) contains, when it cites a source [n] that does not contain
them, or when nothing in any source comes close to it in words or in meaning. The checks
prefer silence to false alarms: a reader who learns that every answer is marked stops
reading the marks. Refusals ("the documents do not cover ...") are never marked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.embeddings import Embedder
from assistant.evidence import sentence_spans, terms

_CITATION = re.compile(r"\s*\[(\d+)\]")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_QUOTED = re.compile(r"[\"“]([^\"”]{3,80})[\"”]")
# A capitalised word or an acronym (CC, BY-NC), letters only; the sentence's first word is
# skipped (every sentence starts with a capital).
_NAME = re.compile(r"(?<=[\s(])[A-Z][\w-]*[A-Za-z0-9]")
# The model echoing a source block's header ("[5] (001.txt, lines 2-3)") or announcing
# what follows ("The answer is:") claims nothing.
_NOT_A_CLAIM = re.compile(r"^\W*\[\d+\]\s*\(|\[\d+\]\s*\((?:[^)]*\.\w{2,4}\b|[^)]*$)|:\s*$")
_DATE = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+"
    r"(?:(\d{1,2})(?:st|nd|rd|th)?,?\s+)?(\d{4})\b",
    re.IGNORECASE,
)
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_REFUSAL = re.compile(
    r"\b(?:do|does|did)(?: not|n't) (?:cover|contain|mention|provide|include|say|specify)"
    r"|\bnot (?:covered|mentioned|specified)\b|\bno (?:information|mention)\b"
    r"|\b(?:cannot|can't|unable to) (?:answer|find|determine)\b",
    re.IGNORECASE,
)
# Capitalised words that name nothing (sentence starts after a list mark, titles).
_COMMON = frozenset(
    [
        "I",
        "A",
        "An",
        "The",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "Its",
        "They",
        "Their",
        "There",
        "He",
        "She",
        "We",
        "You",
        "Our",
        "Your",
        "In",
        "On",
        "At",
        "By",
        "For",
        "From",
        "With",
        "And",
        "Or",
        "But",
        "If",
        "As",
        "To",
        "Of",
        "Also",
        "However",
        "Yes",
        "No",
        "Source",
        "Sources",
        "According",
        "Answer",
        "Question",
    ]
)


@dataclass(frozen=True)
class Claim:
    """A sentence of the answer the sources do not support, and why (for people)."""

    text: str
    start: int  # character offsets into the answer text
    end: int
    reasons: list[str] = field(default_factory=list)


def _fold(text: str) -> str:
    """Lower case, accents and typographic quotes folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("\u2019", "'").replace("\u2011", "-").replace("\u2013", "-")
    return " ".join(text.split()).casefold()


def _numbers(text: str) -> set[str]:
    return {m.group().replace(",", "").rstrip(".") for m in _NUMBER.finditer(text)}


def _facts(sentence: str) -> list[tuple[str, str]]:
    """(kind, value) of each checkable fact: numbers, quoted terms, names."""
    bare = _CITATION.sub("", _LIST_MARK.sub("", sentence)).replace("**", "")
    dates = [("date", m.group()) for m in _DATE.finditer(bare)]
    found = [("number", n) for n in sorted(_numbers(_DATE.sub(" ", bare)))]  # dates whole
    found += [("quote", q.strip()) for q in _QUOTED.findall(bare)] + dates
    for name in _NAME.findall(" " + bare.split(" ", 1)[-1] if " " in bare else ""):
        if name not in _COMMON and len(name) > 1:
            found.append(("name", name))
    return found


class Corpus:
    """What the sources say, folded for lookups: the text, its numbers, its words."""

    def __init__(self, text: str) -> None:
        self.text = _fold(text)
        self.numbers = _numbers(text)
        self.words = set(re.findall(r"\w+", self.text))
        self.dates = {_date(m) for m in _DATE.finditer(text)}

    def holds(self, kind: str, value: str) -> bool:
        if kind == "number":
            return value in self.numbers or value in self.text
        if kind == "name":  # of "AI-powered", the capitalised part names something
            parts = [p for p in value.split("-") if p[:1].isupper()] or [value]
            return all(_fold(p) in self.words or _fold(p) in self.text for p in parts)
        if kind == "date":  # the same month and year, and the same day when both say one
            month, day, year = _date(_DATE.search(value))  # type: ignore[arg-type]
            return any(
                m == month and y == year and (not day or not d or d == day)
                for m, d, y in self.dates
            )
        return _fold(value) in self.text


class ClaimChecker:
    """`min_similarity`: below this cosine to every source sentence, and sharing less than
    `min_overlap` of its words with the sources, a sentence counts as having no close match."""

    def __init__(
        self, embedder: Embedder, *, min_similarity: float = 0.3, min_overlap: float = 0.3
    ) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.min_overlap = min_overlap

    def check(self, question: str, answer: str, sources: Sequence[str]) -> list[Claim]:
        """The unsupported sentences of `answer`, given the sources' texts ([1] = sources[0])."""
        spans = [
            (a, b)
            for a, b in sentence_spans(answer)
            if not _REFUSAL.search(answer[a:b]) and not _NOT_A_CLAIM.search(answer[a:b])
        ]
        if not spans or not sources:
            return []
        every = Corpus("\n".join([question, *sources]))
        each = [Corpus(s) for s in sources]
        sentences = [answer[a:b] for a, b in spans]
        closeness = self._closeness(sentences, sources)
        claims = []
        for (start, end), sentence, near in zip(spans, sentences, closeness, strict=True):
            reasons = _fact_reasons(sentence, every, each)
            overlap = _overlap(sentence, every)
            if not reasons and near < self.min_similarity and overlap < self.min_overlap:
                reasons.append("nothing in the sources says this")
            if reasons:
                claims.append(Claim(sentence, start, end, reasons))
        return claims

    def _closeness(self, sentences: list[str], sources: Sequence[str]) -> list[float]:
        """Each answer sentence's highest cosine to any sentence of the sources."""
        source_sentences = [s[a:b] for s in sources for a, b in sentence_spans(s)]
        if not source_sentences:
            return [0.0] * len(sentences)
        vectors = np.asarray(self.embedder.embed([*sentences, *source_sentences]), np.float32)
        mine, theirs = vectors[: len(sentences)], vectors[len(sentences) :]
        return [float(row.max()) for row in mine @ theirs.T]


def _fact_reasons(sentence: str, every: Corpus, each: list[Corpus]) -> list[str]:
    """Facts in no source; facts the cited sources do not hold (though another does)."""
    facts = _facts(sentence)
    reasons = [f"{_label(k, v)} is not in the sources" for k, v in facts if not every.holds(k, v)]
    cited = list(dict.fromkeys(int(n) for n in _CITATION.findall(sentence)))
    wrong = [n for n in cited if not 1 <= n <= len(each)]
    reasons += [f"[{n}] is not one of the sources" for n in wrong]
    cited = [n for n in cited if n not in wrong]
    if cited:
        missing = [
            _label(k, v)
            for k, v in facts
            if every.holds(k, v) and not any(each[n - 1].holds(k, v) for n in cited)
        ]
        if missing:
            marks = ", ".join(f"[{n}]" for n in cited)
            reasons.append(f"{marks} does not say {', '.join(missing[:3])}")
    return reasons


def _date(match: re.Match[str]) -> tuple[str, str, str]:
    return match.group(1).lower()[:3], match.group(2) or "", match.group(3)


def _label(kind: str, value: str) -> str:
    return f"“{value}”" if kind == "quote" else value


def _overlap(sentence: str, corpus: Corpus) -> float:
    """Share of the sentence's words that the sources (or the question) contain."""
    words = terms(_CITATION.sub("", sentence))
    if not words:
        return 1.0
    return sum(1 for w in words if w in corpus.words or w in corpus.text) / len(words)
