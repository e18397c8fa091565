"""What produced a run: model, embedder, prompt, corpus and the settings that change answers.

A score without its versions cannot be compared: when a baseline differs, these say why
(a new model, a changed prompt, re-chunked or edited documents).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import assistant
from assistant import answering, conversation, rewrite
from assistant.evaluation.metrics import basename
from assistant.factory import Components

SETTINGS_THAT_MATTER = (
    "backend",
    "context_window",
    "max_answer_tokens",
    "temperature",
    "seed",
    "chunk_size",
    "chunk_overlap",
    "min_similarity",
    "min_keyword_coverage",
    "hybrid",
    "followup_strategy",
    "history_budget",
    "answer_style",
    "require_support",
)


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


def prompt_version() -> str:
    """Hash of the prompt texts and of the code that assembles and fits the prompt."""
    code: tuple[Callable[..., Any], ...] = (
        answering.build_messages,
        answering.source_block,
        answering.Assistant._fit,
        conversation.turn_messages,
        conversation.clip,
        rewrite.rewrite_messages,
    )
    texts = (answering.SYSTEM_PROMPT, answering.NOT_COVERED, rewrite.REWRITE_SYSTEM)
    return _digest([*texts, *(inspect.getsource(f) for f in code)])


def corpus_version(parts: Components, collection: str) -> dict[str, Any]:
    """Two hashes: of the documents (file name, content hash), and of the chunks made of
    them, so a change of chunking or cleaning shows even when no document changed."""
    if collection not in parts.store.collections():  # reading would create it empty
        return {"documents": 0, "chunks": 0, "sha256": None, "chunks_sha256": None}
    docs = parts.store.documents(collection)
    chunks = sorted(
        f"{basename(str(c.metadata.get('source', '')))} {c.metadata.get('chunk_index', '')}"
        f" {hashlib.sha256(c.text.encode()).hexdigest()[:16]}"
        for c in parts.store.chunks(collection)
    )
    return {
        "documents": len(docs),
        "chunks": len(chunks),
        "sha256": _digest(sorted(f"{basename(d.source)} {d.doc_hash}" for d in docs)),
        "chunks_sha256": _digest(chunks),
    }


def versions(parts: Components, collections: Iterable[str], *, top_k: int) -> dict[str, Any]:
    s = parts.settings
    return {
        "assistant": assistant.__version__,
        "model": parts.model.name,
        "embedder": parts.store.embedder.name,
        "prompt": prompt_version(),
        "corpus": {name: corpus_version(parts, name) for name in sorted(set(collections))},
        "settings": {
            "top_k": top_k,
            **{name: getattr(s, name) for name in SETTINGS_THAT_MATTER},
            "answer_style": parts.answer_style,  # `auto` resolved
        },
    }
