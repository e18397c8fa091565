"""Suite files: YAML, one case per question, validated with the line of every mistake.

YAML rather than TOML because PyYAML's node marks give each value its line, so a typo in
case 31 is reported as `suite.yaml:214: ...` instead of a stack trace. The format::

    name: seed corpus              # optional
    thresholds:                    # optional; a metric left out must be perfect (1.0)
      hit_rate: 0.9                # minimum share of cases whose expected source was retrieved
      hit_at_2: null               # the same, among the first two sources only
      mrr: 0.7                     # minimum mean reciprocal rank of the expected sources
      answer_rate: null            # null: reported, never fails the run
      refusal_accuracy: 1.0        # minimum share of must_refuse cases refused
      max_drop: 0.05               # with --baseline: largest allowed drop of a gated metric
    cases:
      - question: When was Llama 2 released?
        id: llama2-date            # optional; the question is the default id
        collection: documents      # optional; default from settings
        expect: [July 2023]        # any of these substrings, case-insensitive
        regex: 'july\\s+2023'       # and/or a case-insensitive regular expression
        sources: [001_5fec047b8f95376e.txt]  # any of them among the retrieved top k
        tags: [timeline]
      - question: What is the capital of Peru?
        must_refuse: true          # the documents don't answer it
      - id: llama3-tokens          # a conversation: optional id, collection, tags
        turns:
          - When did LLaMA 3 come out?         # a plain string: asked, not scored
          - question: How many tokens was it trained on?   # scored, as a follow-up
            expect: ["15 trillion"]
            sources: [001_5fec047b8f95376e.txt]

Each scored turn of a conversation is a case of its own (id `CONVERSATION#N`), asked
after the turns before it, with their answers as the conversation's history. Turns after
the first count towards the `followup_*` metrics, not the single-question ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import AssistantError

BASE_METRICS = ("hit_rate", "hit_at_2", "mrr", "answer_rate", "refusal_accuracy")
FOLLOWUP = "followup_"  # the same metrics over follow-ups (turn 2 on of a conversation)
METRICS = (*BASE_METRICS, *(FOLLOWUP + m for m in BASE_METRICS))
_BASE_MINIMUM: dict[str, float | None] = {
    "hit_rate": 1.0,
    "hit_at_2": None,  # hit@2: an expected file among the first two; report only by default
    "mrr": None,  # hit_rate already gates presence; rank alone is too strict a default
    "answer_rate": 1.0,
    "refusal_accuracy": 1.0,
}
DEFAULT_MINIMUM = {**_BASE_MINIMUM, **{FOLLOWUP + m: v for m, v in _BASE_MINIMUM.items()}}
DEFAULT_MAX_DROP = 0.05
CASE_KEYS = ("id", "question", "collection", "expect", "regex", "sources", "must_refuse", "tags")
CONVERSATION_KEYS = ("id", "turns", "collection", "tags")
TOP_KEYS = ("name", "thresholds", "cases")


class SuiteError(AssistantError):
    """A suite file that cannot be used; the message starts with `FILE:LINE:`, and is one
    line whatever the file holds (a key with a newline in it is shown as `\\n`)."""

    def __init__(self, message: str) -> None:
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    line: int  # where the case starts in the suite file, 1-based
    collection: str | None = None
    expect: tuple[str, ...] = ()
    regex: str | None = None
    sources: tuple[str, ...] = ()
    must_refuse: bool = False
    tags: tuple[str, ...] = ()
    conversation: str | None = None  # the conversation's id, for a turn of one
    turn: int = 0  # 1-based turn in its conversation; 0 for a question asked alone
    before: tuple[str, ...] = ()  # the questions of the conversation's earlier turns

    @property
    def is_followup(self) -> bool:
        return self.turn >= 2

    @property
    def checks_answer(self) -> bool:
        return bool(self.expect or self.regex)


@dataclass(frozen=True)
class Thresholds:
    minimum: dict[str, float | None]  # metric -> lowest passing value; None = report only
    max_drop: float = DEFAULT_MAX_DROP

    def with_overrides(
        self, minimum: dict[str, float | None], max_drop: float | None
    ) -> Thresholds:
        return Thresholds(
            {**self.minimum, **minimum}, self.max_drop if max_drop is None else max_drop
        )


@dataclass(frozen=True)
class Suite:
    path: Path
    name: str
    cases: tuple[Case, ...]
    thresholds: Thresholds
    sha256: str


class _Reader:
    """Turns composed YAML nodes into values, failing with the node's line."""

    def __init__(self, path: Path, loader: yaml.SafeLoader) -> None:
        self.path = path
        self.loader = loader

    def fail(self, node: yaml.Node, reason: str) -> SuiteError:
        return SuiteError(f"{self.path}:{node.start_mark.line + 1}: {reason}")

    def value(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, what: str, keys: tuple[str, ...]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of keys to values")
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if key not in keys:
                raise self.fail(
                    key_node, f"unknown key '{key}' in {what} (known: {', '.join(keys)})"
                )
            if key in out:
                raise self.fail(key_node, f"duplicate key '{key}' in {what}")
            out[key] = value_node
        return out

    def text(self, node: yaml.Node, what: str) -> str:
        """A scalar as written: `expect: [no]` or `id: off` stay text, never YAML booleans."""
        if (
            not isinstance(node, yaml.ScalarNode)
            or node.tag.endswith(":null")
            or not node.value.strip()
        ):
            raise self.fail(node, f"{what} must be a non-empty string")
        return str(node.value).strip()

    def texts(self, node: yaml.Node, what: str, *, single: bool = False) -> tuple[str, ...]:
        if single and isinstance(node, yaml.ScalarNode):
            return (self.text(node, what),)
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list of strings, like [a, b]")
        return tuple(self.text(item, f"each of {what}") for item in node.value)

    def fraction(self, node: yaml.Node, what: str, *, nullable: bool) -> float | None:
        value = self.value(node)
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            extra = " or null (report only)" if nullable else ""
            raise self.fail(node, f"{what} must be a number from 0 to 1{extra}")
        return float(value)


def _case(r: _Reader, node: yaml.Node, number: int | str) -> Case:
    fields = r.mapping(node, f"case {number}", CASE_KEYS)
    if "question" not in fields:
        raise r.fail(node, f"case {number} has no 'question'")
    question = r.text(fields["question"], "question")
    regex = None
    if "regex" in fields:
        regex = r.text(fields["regex"], "regex")
        try:
            re.compile(regex, re.IGNORECASE)
        except (re.error, OverflowError, RecursionError) as exc:  # "a{99999999999}" too
            raise r.fail(fields["regex"], f"regex does not compile: {exc}") from exc
    must_refuse = r.value(fields["must_refuse"]) if "must_refuse" in fields else False
    if not isinstance(must_refuse, bool):
        raise r.fail(fields["must_refuse"], "must_refuse must be true or false")
    case = Case(
        id=r.text(fields["id"], "id") if "id" in fields else question,
        question=question,
        line=node.start_mark.line + 1,
        collection=r.text(fields["collection"], "collection") if "collection" in fields else None,
        expect=r.texts(fields["expect"], "expect", single=True) if "expect" in fields else (),
        regex=regex,
        sources=r.texts(fields["sources"], "sources") if "sources" in fields else (),
        must_refuse=must_refuse,
        tags=r.texts(fields["tags"], "tags", single=True) if "tags" in fields else (),
    )
    if must_refuse and (case.checks_answer or case.sources):
        raise r.fail(node, f"case {number} must_refuse, so it cannot have expect, regex or sources")
    if not (must_refuse or case.checks_answer or case.sources):
        raise r.fail(
            node, f"case {number} checks nothing: give expect, regex, sources or must_refuse"
        )
    return case


def _conversation(r: _Reader, node: yaml.Node, number: int) -> list[Case]:
    """The scored turns of a `turns:` item as cases, each knowing the turns before it."""
    fields = r.mapping(node, f"case {number}", CONVERSATION_KEYS)
    turns = fields["turns"]
    if not isinstance(turns, yaml.SequenceNode) or len(turns.value) < 2:
        raise r.fail(turns, f"case {number}: turns must be a list of at least two questions")
    collection = r.text(fields["collection"], "collection") if "collection" in fields else None
    tags = r.texts(fields["tags"], "tags", single=True) if "tags" in fields else ()
    questions: list[str] = []
    cases: list[Case] = []
    for n, turn in enumerate(turns.value, start=1):
        if isinstance(turn, yaml.ScalarNode):
            questions.append(r.text(turn, f"turn {n} of case {number}"))
            continue
        case = _case(r, turn, f"{number}, turn {n}")
        if case.collection is not None or case.id != case.question:
            raise r.fail(
                turn, f"case {number}, turn {n}: give id and collection on the conversation"
            )
        cases.append(
            replace(
                case,
                collection=collection,
                tags=(*tags, *case.tags),
                turn=n,
                before=tuple(questions),
            )
        )
        questions.append(case.question)
    if not cases:
        raise r.fail(
            node, f"case {number} scores no turn: give one as '- question: ...' with checks"
        )
    name = r.text(fields["id"], "id") if "id" in fields else questions[0]
    return [replace(c, id=f"{name}#{c.turn}", conversation=name) for c in cases]


def _thresholds(r: _Reader, node: yaml.Node) -> Thresholds:
    fields = r.mapping(node, "thresholds", (*METRICS, "max_drop"))
    minimum = dict(DEFAULT_MINIMUM)
    for metric in METRICS:
        if metric in fields:
            minimum[metric] = r.fraction(fields[metric], metric, nullable=True)
    max_drop = DEFAULT_MAX_DROP
    if "max_drop" in fields:
        max_drop = r.fraction(fields["max_drop"], "max_drop", nullable=False) or 0.0
    return Thresholds(minimum, max_drop)


def _unreadable(text: str, path: Path, exc: yaml.reader.ReaderError) -> SuiteError:
    """A character YAML does not allow (a control character, say): where it is."""
    line = text[: exc.position].count("\n") + 1
    return SuiteError(
        f"{path}:{line}: not valid YAML: {exc.reason} (character #x{exc.character:04x})"
    )


def parse_suite(text: str, path: Path) -> Suite:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _unreadable(text, path, exc) from exc
    try:
        root = loader.get_single_node()
    except yaml.reader.ReaderError as exc:
        raise _unreadable(text, path, exc) from exc
    except RecursionError as exc:  # "[[[[..." thousands deep: PyYAML composes recursively
        raise SuiteError(f"{path}: not valid YAML: nested too deeply") from exc
    except yaml.MarkedYAMLError as exc:
        mark, context = exc.problem_mark or exc.context_mark, ""
        if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
            context = f" ({exc.context} from line {exc.context_mark.line + 1})"
        reason = f"not valid YAML: {exc.problem or exc.context}{context}"
        raise SuiteError(
            f"{path}:{mark.line + 1}: {reason}" if mark else f"{path}: {reason}"
        ) from exc
    finally:
        loader.dispose()
    if root is None:
        raise SuiteError(f"{path}: the suite is empty; it needs a 'cases:' list")
    r = _Reader(path, loader)
    name, thresholds, cases_node = path.stem, Thresholds(dict(DEFAULT_MINIMUM)), root
    if isinstance(root, yaml.MappingNode):
        top = r.mapping(root, "the suite", TOP_KEYS)
        if "cases" not in top:
            raise r.fail(root, "the suite has no 'cases:' list")
        cases_node = top["cases"]
        name = r.text(top["name"], "name") if "name" in top else name
        thresholds = _thresholds(r, top["thresholds"]) if "thresholds" in top else thresholds
    if not isinstance(cases_node, yaml.SequenceNode) or not cases_node.value:
        raise r.fail(cases_node, "cases must be a non-empty list, one '- question: ...' per case")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, node in enumerate(cases_node.value, start=1):
        is_conversation = isinstance(node, yaml.MappingNode) and any(
            r.value(k) == "turns" for k, _ in node.value
        )
        for case in _conversation(r, node, number) if is_conversation else [_case(r, node, number)]:
            if case.id in seen:
                raise r.fail(
                    node, f"case {number} repeats the id of the case on line {seen[case.id]}"
                )
            seen[case.id] = case.line
            cases.append(case)
    sha = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Suite(path, name, tuple(cases), thresholds, sha)


def load_suite(path: Path) -> Suite:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SuiteError(f"{path}: no such suite file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read the suite ({exc})") from exc
    return parse_suite(text, path)
