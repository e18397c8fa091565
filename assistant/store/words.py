"""Words as the search sees them: the keyword index's terms and the questions' terms.

`words` lower-cases a text into words and numbers ("3.1" and "llama's" stay whole) and
drops stopwords; `tokenize` also stems each one (Snowball's English stemmer, after a table
of irregular past forms), so "leads", "leading" and "led" are one term and "Who leads
FAIR?" finds "Led by Yann LeCun". The keyword index records the `ANALYZER` it was built
with: change anything here that changes a term and bump it, and every index is rebuilt
from its chunks the next time it is opened.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import snowballstemmer

ANALYZER = "words1+irregular1+snowball-english"

_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


# Past forms no suffix rule reaches, of verbs a question asks in the present ("Who leads
# FAIR?" is answered by "Led by Yann LeCun").
IRREGULAR = {
    "became": "become", "began": "begin", "bought": "buy", "brought": "bring",
    "built": "build", "came": "come", "chose": "choose", "chosen": "choose",
    "drew": "draw", "drove": "drive", "fell": "fall", "fought": "fight", "found": "find",
    "gave": "give", "given": "give", "got": "get", "grew": "grow", "grown": "grow",
    "held": "hold", "kept": "keep", "knew": "know", "known": "know", "led": "lead",
    "left": "leave", "lost": "lose", "made": "make", "meant": "mean", "met": "meet",
    "paid": "pay", "ran": "run", "rose": "rise", "said": "say", "sold": "sell",
    "sent": "send", "sought": "seek", "spent": "spend", "spoke": "speak", "stood": "stand",
    "struck": "strike", "taught": "teach", "thought": "think", "told": "tell",
    "took": "take", "taken": "take", "went": "go", "won": "win", "wrote": "write",
    "written": "write",
}  # fmt: skip


def words(text: str) -> list[str]:
    """Lower-case words and numbers, stopwords dropped; not stemmed."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def tokenize(text: str) -> list[str]:
    """The text's search terms: its `words`, each stemmed."""
    return [stem(w) for w in words(text)]


_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A word's term: "models" -> "model", "released" -> "releas", "led" -> "lead"."""
    with _STEMMER_LOCK:  # a Snowball stemmer keeps its state between calls
        return str(_STEMMER.stemWord(IRREGULAR.get(word, word)))
