"""Answer a question from the documents: retrieve, build a prompt that fits, stream, cite.

Every caller (CLI, web UI, benchmarks, the regression suite) goes through `Assistant.ask`,
so what is measured and tested is exactly what people use.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.llm import ChatModel, Message
from assistant.retrieval import Retriever
from assistant.store import Hit

SYSTEM_PROMPT = (
    "You answer questions about the organisation's documents. Use only the numbered"
    " sources. Cite the sources you use by number, like [1]. If the sources do not"
    " contain the answer, say that the documents do not cover it."
)
NOT_COVERED = (
    "The documents don't cover this: nothing in the indexed documents is related closely"
    " enough to answer it."
)
SNIPPET_CHARS = 300
# A model that starts writing "Question:" is inventing the next turn of our prompt format.
STOP_SEQUENCES = ("\nQuestion:",)
_CITATION = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Source:
    number: int  # the [n] the model was told to cite
    source: str  # file the chunk came from
    title: str
    anchor: str  # where in the file: timestamp, page, heading or lines
    snippet: str
    similarity: float
    chunk_id: str
    cited: bool = False  # did the answer cite [number]
    collection: str = ""  # the collection the chunk came from


@dataclass
class Answer:
    question: str
    text: str
    sources: list[Source]
    refused: bool
    model: str
    omitted_sources: int = 0  # retrieved, but left out so the prompt fits the context
    timings: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Told of every finished answer, the collection asked and who asked ("" on the command
# line), e.g. to log it: CLI and UI alike.
OnAnswer = Callable[[Answer, str, str], None]


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def _to_source(number: int, hit: Hit) -> Source:
    m = hit.chunk.metadata
    return Source(
        number=number,
        source=str(m.get("source", "")),
        title=str(m.get("title", "")),
        anchor=str(m.get("anchor", "")),
        snippet=_snippet(hit.chunk.text),
        similarity=round(hit.similarity, 4),
        chunk_id=hit.chunk.id,
        collection=str(m.get("collection", "")),
    )


def source_block(number: int, hit: Hit) -> str:
    m = hit.chunk.metadata
    # The file name, not its path: the path costs prompt tokens and tells the model nothing.
    name = Path(str(m.get("source", ""))).name
    where = ", ".join(str(x) for x in (name, m.get("anchor")) if x)
    return f"[{number}] ({where})\n{hit.chunk.text.strip()}"


def build_messages(question: str, blocks: list[str]) -> list[Message]:
    user = "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question.strip()}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


class AnswerStream:
    """Sources are known at once; iterate for the answer text as it is generated."""

    def __init__(
        self,
        answer: Answer,
        model: ChatModel | None,
        messages: list[Message],
        max_tokens: int,
        started: float,
        on_finish: Callable[[Answer], None] | None = None,
    ) -> None:
        self.answer = answer
        self._model = model
        self._messages = messages
        self._max_tokens = max_tokens
        self._started = started
        self._on_finish = on_finish

    @property
    def sources(self) -> list[Source]:
        return self.answer.sources

    def __iter__(self) -> Iterator[str]:
        if self._model is None:  # refused: nothing for the model to do
            yield self.answer.text
            self._finish()
            return
        pieces: list[str] = []
        pieces_iter = self._model.stream(
            self._messages, max_tokens=self._max_tokens, stop=STOP_SEQUENCES
        )
        for piece in pieces_iter:
            if not pieces:
                self.answer.timings["first_token_s"] = time.perf_counter() - self._started
            pieces.append(piece)
            yield piece
        self.answer.text = "".join(pieces).strip()
        self._finish()

    def _finish(self) -> None:
        cited = {int(n) for n in _CITATION.findall(self.answer.text)}
        self.answer.sources = [
            Source(**{**asdict(s), "cited": s.number in cited}) for s in self.answer.sources
        ]
        self.answer.timings["total_s"] = time.perf_counter() - self._started
        if self._on_finish is not None:
            self._on_finish(self.answer)

    def result(self) -> Answer:
        """Consume the stream (if not yet) and return the finished answer."""
        if "total_s" not in self.answer.timings:
            for _ in self:
                pass
        return self.answer


class Assistant:
    def __init__(
        self,
        retriever: Retriever,
        model: ChatModel,
        *,
        max_answer_tokens: int,
        max_question_chars: int = 4000,
        on_answer: OnAnswer | None = None,
    ) -> None:
        self.retriever = retriever
        self.model = model
        self.max_answer_tokens = max_answer_tokens
        self.max_question_chars = max_question_chars
        self.on_answer = on_answer

    def ask(
        self,
        question: str,
        *,
        collection: str | None = None,
        k: int | None = None,
        collections: Sequence[str] | None = None,
        user: str = "",
    ) -> AnswerStream:
        """Answer from `collection` (default: the store's), or, when `collections` is
        given, from exactly those (merged; none at all means nothing is searched): the
        caller decides which a user may read. `user` is who asks, for the chat log."""
        started = time.perf_counter()
        if not question.strip():
            raise AssistantError("the question is empty")
        if len(question) > self.max_question_chars:  # before anything is searched or logged
            raise AssistantError(
                f"the question is {len(question):,} characters long; at most"
                f" {self.max_question_chars:,} are accepted (max_question_chars)"
            )
        if collections is not None:
            retrieval = self.retriever.retrieve_many(question, list(collections), k=k)
            asked = ",".join(collections)
        else:
            retrieval = self.retriever.retrieve(question, k=k, collection=collection)
            asked = collection or self.retriever.store.default_collection
        answer = Answer(
            question=question, text="", sources=[], refused=False, model=self.model.name
        )
        answer.timings["retrieval_s"] = retrieval.seconds
        on_answer = self.on_answer
        done = (lambda a: on_answer(a, asked, user)) if on_answer else None
        if not retrieval.hits:
            answer.text, answer.refused = NOT_COVERED, True
            return AnswerStream(answer, None, [], 0, started, done)

        messages, used = self._fit(question, retrieval.hits)
        answer.sources = [_to_source(n, hit) for n, hit in enumerate(used, start=1)]
        answer.omitted_sources = len(retrieval.hits) - len(used)
        answer.prompt_tokens = self.model.count_tokens(messages)
        return AnswerStream(answer, self.model, messages, self.max_answer_tokens, started, done)

    def _fit(self, question: str, hits: list[Hit]) -> tuple[list[Message], list[Hit]]:
        """Add sources best-first while the prompt plus the answer fit the context window."""
        budget = self.model.context_window - self.max_answer_tokens
        blocks: list[str] = []
        for hit in hits:
            candidate = [*blocks, source_block(len(blocks) + 1, hit)]
            if self.model.count_tokens(build_messages(question, candidate)) > budget:
                break
            blocks = candidate
        if not blocks:
            raise AssistantError(
                f"the question and its best source do not fit the model's context of"
                f" {self.model.context_window} tokens: shorten the question or raise"
                " ASSISTANT_CONTEXT_WINDOW"
            )
        return build_messages(question, blocks), hits[: len(blocks)]
