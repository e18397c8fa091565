"""Answer a question from the documents: retrieve, build a prompt that fits, stream, cite.

Every caller (CLI, web UI, benchmarks, the regression suite) goes through `Assistant.ask`,
so what is measured and tested is exactly what people use.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.checks import Checks
from assistant.claims import Claim
from assistant.conversation import Turn, fit_turns, with_history
from assistant.errors import AssistantError
from assistant.evidence import Evidence, snippet_around, supported
from assistant.followup import FollowUp, Search, fused_search
from assistant.llm import ChatModel, Message
from assistant.llm.fifo import in_arrival_order
from assistant.quoting import GENERATED_HEAD, quote_text
from assistant.retrieval import Retriever
from assistant.rewrite import rewrite
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
NOT_SUPPORTED = (
    "The documents don't cover this: no sentence in the closest passages (below) answers it."
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
    evidence: tuple[Evidence, ...] = ()  # its sentences that best answer the question


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
    # A follow-up: the query searched (a rewrite, or the question with earlier ones), how
    # ("rewrite", "fusion"; "" when the question was searched as typed), and how many
    # earlier turns the prompt held.
    standalone_query: str = ""
    followup: str = ""
    turns_used: int = 0
    answer_style: str = "generated"  # generated | quoted | both (see assistant.quoting)
    quote: str = ""  # the quoted part (quoted, both): the sources' own sentences
    unsupported: list[Claim] = field(default_factory=list)  # sentences no source supports

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
        check: Callable[[str], list[Claim]] | None = None,
    ) -> None:
        self.answer = answer
        self._model = model
        self._messages = messages
        self._max_tokens = max_tokens
        self._started = started
        self._on_finish = on_finish
        self._check = check  # the claim check of the generated text

    @property
    def sources(self) -> list[Source]:
        return self.answer.sources

    def __iter__(self) -> Iterator[str]:
        if self._model is None:  # refused: nothing for the model to do
            yield self.answer.text
            self._finish()
            return
        head = f"{self.answer.quote}\n\n{GENERATED_HEAD}\n\n" if self.answer.quote else ""
        if head:  # `both`: the quote first, at once
            yield head
        pieces: list[str] = []
        pieces_iter = in_arrival_order(  # its place in the model's line: when it was asked
            self._model.stream(self._messages, max_tokens=self._max_tokens, stop=STOP_SEQUENCES),
            self._started,
        )
        try:
            for piece in pieces_iter:
                if not pieces:
                    self.answer.timings["first_token_s"] = time.perf_counter() - self._started
                pieces.append(piece)
                yield piece
            # Streamed pieces: one token each from llama.cpp, Ollama and OpenAI-style servers.
            self.answer.timings["tokens"] = len(pieces)
        finally:  # closed early (the asker stopped): the model stops and frees its slot now
            close = getattr(pieces_iter, "close", None)
            if close is not None:
                close()
        self.answer.text = (head + "".join(pieces)).strip()
        generated = "".join(pieces).strip()  # the end of the text: offsets shift by `at`
        if self._check is not None:
            at = len(self.answer.text) - len(generated)
            self.answer.unsupported = [
                replace(c, start=c.start + at, end=c.end + at) for c in self._check(generated)
            ]
        self._finish()

    def _finish(self) -> None:
        cited = {int(n) for n in _CITATION.findall(self.answer.text)}
        self.answer.sources = [replace(s, cited=s.number in cited) for s in self.answer.sources]
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
        followup: str = "fusion",
        history_tokens: int = 0,
        checks: Checks | None = None,
    ) -> None:
        self.retriever = retriever
        self.model = model
        self.max_answer_tokens = max_answer_tokens
        self.max_question_chars = max_question_chars
        self.on_answer = on_answer
        self.followup = followup  # how a follow-up is searched: rewrite, fusion or off
        self.history_tokens = history_tokens  # most prompt tokens earlier turns may take
        self.checks = checks  # supporting sentences, answer style, claim check (None: off)

    def ask(
        self,
        question: str,
        *,
        collection: str | None = None,
        k: int | None = None,
        collections: Sequence[str] | None = None,
        history: Sequence[Turn] = (),
        user: str = "",
    ) -> AnswerStream:
        """Answer from `collection` (default: the store's), or, when `collections` is
        given, from exactly those (merged; none at all means nothing is searched): the
        caller decides which a user may read. `history`: the conversation's earlier
        turns, oldest first; the question is then searched as a follow-up and the turns
        go into the prompt as far as they fit. `user` is who asks, for the chat log."""
        started = time.perf_counter()
        if not question.strip():
            raise AssistantError("the question is empty")
        if len(question) > self.max_question_chars:  # before anything is searched or logged
            raise AssistantError(
                f"the question is {len(question):,} characters long; at most"
                f" {self.max_question_chars:,} are accepted (max_question_chars)"
            )
        search: Search
        if collections is not None:
            names = list(collections)
            search = lambda q, n: self.retriever.retrieve_many(q, names, k=n)  # noqa: E731
            asked = ",".join(collections)
        else:
            search = lambda q, n: self.retriever.retrieve(q, k=n, collection=collection)  # noqa: E731
            asked = collection or self.retriever.store.default_collection
        found = self._search(search, question, history, k)
        retrieval = found.retrieval
        answer = Answer(
            question=question, text="", sources=[], refused=False, model=self.model.name
        )
        answer.standalone_query, answer.followup = found.query, found.strategy
        answer.timings["retrieval_s"] = time.perf_counter() - started
        on_answer = self.on_answer
        done = (lambda a: on_answer(a, asked, user)) if on_answer else None
        if not retrieval.hits:
            answer.text, answer.refused = NOT_COVERED, True
            return AnswerStream(answer, None, [], 0, started, done)

        if self.checks is not None:
            # a follow-up is checked as it was searched (rewritten, or with the earlier
            # questions): "Which sizes did it come in?" alone has no answer anywhere
            searched = found.query if found.strategy else question
            return self._checked(searched, retrieval.hits, history, answer, started, done)
        messages, used, turns = self._fit(question, retrieval.hits, history)
        answer.turns_used = len(turns)
        answer.sources = [_to_source(n, hit) for n, hit in enumerate(used, start=1)]
        answer.omitted_sources = len(retrieval.hits) - len(used)
        answer.prompt_tokens = self.model.count_tokens(messages)
        return AnswerStream(answer, self.model, messages, self.max_answer_tokens, started, done)

    def _search(
        self, search: Search, question: str, history: Sequence[Turn], k: int | None
    ) -> FollowUp:
        """Retrieve for the question, as a follow-up of `history` when there is one."""
        k = k or self.retriever.top_k
        if not history or self.followup == "off":
            return FollowUp(search(question, k), question, "")
        if self.followup == "rewrite":
            query = rewrite(self.model, history, question)
            return FollowUp(search(query, k), query, "rewrite")
        return fused_search(search, history, question, k, max(k, self.retriever.top_k))

    def _checked(
        self,
        question: str,
        hits: list[Hit],
        history: Sequence[Turn],
        answer: Answer,
        started: float,
        done: Callable[[Answer], None] | None,
    ) -> AnswerStream:
        """The answer with its supporting sentences, in the configured style; declined when
        no sentence of any source supports one (the closest passages stay as sources)."""
        checks = self.checks
        assert checks is not None
        quoted = checks.style == "quoted"
        messages, used, turns = ([], hits, []) if quoted else self._fit(question, hits, history)
        answer.turns_used = len(turns)
        texts = [hit.chunk.text for hit in used]
        evidence = checks.finder.find(question, texts)
        answer.sources = [
            replace(
                _to_source(n, hit),
                evidence=tuple(found),
                snippet=snippet_around(hit.chunk.text, found[0] if found else None),
            )
            for n, (hit, found) in enumerate(zip(used, evidence, strict=True), start=1)
        ]
        answer.omitted_sources = len(hits) - len(used)
        answer.answer_style = checks.style
        if checks.require_support and not supported(evidence):
            answer.text, answer.refused = NOT_SUPPORTED, True
            return AnswerStream(answer, None, [], 0, started, done)
        if checks.style != "generated":
            answer.quote = quote_text(evidence)
        if quoted:  # with require_support off, nothing may support a quote
            answer.text, answer.refused = answer.quote or NOT_SUPPORTED, not answer.quote
            return AnswerStream(answer, None, [], 0, started, done)
        answer.prompt_tokens = self.model.count_tokens(messages)

        def check(generated: str) -> list[Claim]:
            return checks.claims.check(question, generated, texts)

        return AnswerStream(
            answer, self.model, messages, self.max_answer_tokens, started, done, check
        )

    def _fit(
        self, question: str, hits: list[Hit], history: Sequence[Turn] = ()
    ) -> tuple[list[Message], list[Hit], list[Turn]]:
        """Add sources best-first while the prompt plus the answer fit the context window;
        then earlier turns, newest first, in what is left (at most `history_tokens`)."""
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
        messages = build_messages(question, blocks)
        room = min(self.history_tokens, budget - self.model.count_tokens(messages))
        turns = fit_turns(messages, history, self.model.count_tokens, room)
        return with_history(messages, turns), hits[: len(blocks)], turns
