"""Follow-ups end to end over the real seed store and embedder: the model-free fusion
(the packaged model's way), the off-topic refusal after an on-topic turn, history in the
real model's prompt within its budget, and the rewrite path against a fake Ollama whose
replies the test scripts (a fake only for Ollama, as everywhere)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.ollama import CHAT_MODEL, DONE, FakeOllama, OllamaHandler
from support.paths import SEED_SUITE

from assistant.answering import Assistant
from assistant.conversation import Turn
from assistant.evaluation.suite import load_suite
from assistant.llm.ollama import OllamaChat
from assistant.rewrite import REWRITE_SYSTEM
from assistant.settings import Settings

SUITE = SEED_SUITE
LLAMA3 = {"001_5fec047b8f95376e.txt", "004_9034c93824e74505.txt"}
FIRST = Turn(
    "When did LLaMA 3 come out?",
    "LLaMA 3 came out in April 2024 [1].",
    sources=("seeds/001_5fec047b8f95376e.txt",),
)
FOLLOW_UP = "How many tokens was it trained on?"


def ollama_settings(host: str, tmp_path: Path) -> Settings:
    """The Ollama backend for chat only: retrieval stays on the packaged embedder."""
    return Settings(
        data_dir=tmp_path, backend="ollama", ollama_host=host, ollama_model=CHAT_MODEL,
        ollama_timeout=10.0, context_window=4096,
    )  # fmt: skip


def names(answer_sources) -> list[str]:  # type: ignore[no-untyped-def]
    return [Path(s.source).name for s in answer_sources]


def assistant_for(parts, followup: str, history_tokens: int = 100) -> Assistant:  # type: ignore[no-untyped-def]
    return Assistant(
        parts.retriever,
        parts.model,
        max_answer_tokens=64,
        followup=followup,
        history_tokens=history_tokens,
    )


@pytest.mark.slow
def test_fusion_finds_what_the_follow_up_alone_does_not(seeded) -> None:
    fusion = assistant_for(seeded, "fusion")
    alone = fusion.ask("Which sizes did it come in?").answer
    assert alone.refused, "alone, the question relates to nothing: the gate declines it"
    answer = fusion.ask("Which sizes did it come in?", history=[FIRST]).answer
    assert not answer.refused and answer.followup == "fusion"
    assert set(names(answer.sources)[:2]) & LLAMA3, names(answer.sources)
    assert answer.standalone_query == "When did LLaMA 3 come out? Which sizes did it come in?"
    off = assistant_for(seeded, "off").ask("Which sizes did it come in?", history=[FIRST])
    assert off.answer.refused and off.answer.followup == "", "off: searched as typed"


@pytest.mark.slow
def test_every_off_topic_question_is_refused_after_any_on_topic_turn(seeded) -> None:
    suite = load_suite(SUITE)
    off_topic = [c.question for c in suite.cases if "off-topic" in c.tags]
    firsts = [c.before[0] for c in suite.cases if c.turn == 2 and not c.must_refuse]
    assert len(off_topic) >= 8 and len(firsts) >= 12
    fusion = assistant_for(seeded, "fusion")
    for first in firsts:
        history = [Turn(first, "")]
        for question in off_topic:
            answer = fusion.ask(question, history=history).answer
            assert answer.refused and not answer.sources, (first, question)


@pytest.mark.slow
def test_earlier_turns_fill_the_prompt_newest_first_never_at_the_sources_cost(seeded) -> None:
    history = [Turn(f"Earlier question {i} about LLaMA?", "An answer. " * 25) for i in range(6)]
    alone = assistant_for(seeded, "fusion").ask("How many tokens was LLaMA 3 trained on?")
    budget = assistant_for(seeded, "fusion", history_tokens=150)
    stream = budget.ask("How many tokens was LLaMA 3 trained on?", history=history)
    answer = stream.answer
    assert answer.sources == alone.answer.sources, "history never displaces a source"
    assert 1 <= answer.turns_used < len(history)
    assert 0 < answer.prompt_tokens - alone.answer.prompt_tokens <= 150
    prompt = stream._messages  # what the model is given: the newest turns, in order
    kept = [m["content"] for m in prompt if m["role"] == "user"][:-1]
    assert kept == [t.question for t in history[-answer.turns_used :]]
    question = "How many tokens was LLaMA 3 trained on?"
    roomy = assistant_for(seeded, "fusion", history_tokens=10_000)
    assert roomy.ask(question, history=history).answer.turns_used == len(history)
    none = assistant_for(seeded, "fusion", history_tokens=0)
    assert none.ask(question, history=history).answer.turns_used == 0


# --- the rewrite, against a fake Ollama that answers what the test scripts -------------


class ScriptedHandler(OllamaHandler):
    def stream_chat(self, model: str) -> None:
        reply = self.server.script.pop(0) if self.server.script else "The answer [1]."  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        head = {"model": model, "created_at": "2025-01-01T00:00:00Z"}
        for line in (
            head | {"message": {"role": "assistant", "content": reply}, "done": False},
            head | {"message": {"role": "assistant", "content": ""}} | DONE,
        ):
            chunk = json.dumps(line).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


class ScriptedOllama(FakeOllama):
    def __init__(self) -> None:
        super().__init__()
        self.RequestHandlerClass = ScriptedHandler
        self.script: list[str] = []


@pytest.fixture
def scripted() -> Iterator[ScriptedOllama]:
    server = ScriptedOllama()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.slow
def test_the_chat_model_rewrites_a_follow_up_which_is_searched_and_returned(
    seeded, scripted: ScriptedOllama, tmp_path: Path
) -> None:
    model = OllamaChat(ollama_settings(scripted.url, tmp_path))
    ollama = Assistant(
        seeded.retriever, model, max_answer_tokens=64, followup="rewrite", history_tokens=1000
    )
    scripted.script = ["How many tokens was LLaMA 3 trained on?", "15 trillion tokens [1]."]
    answer = ollama.ask(FOLLOW_UP, history=[FIRST]).result()
    assert answer.standalone_query == "How many tokens was LLaMA 3 trained on?"
    assert answer.followup == "rewrite" and answer.text == "15 trillion tokens [1]."
    assert names(answer.sources)[0] in LLAMA3 and answer.turns_used == 1
    rewrite_call, answer_call = scripted.bodies("/api/chat")
    assert rewrite_call["model"] == CHAT_MODEL
    assert rewrite_call["messages"][0]["content"] == REWRITE_SYSTEM
    assert FIRST.question in rewrite_call["messages"][1]["content"]
    assert FOLLOW_UP in rewrite_call["messages"][1]["content"]
    assert rewrite_call["options"]["num_predict"] == 48
    roles = [m["role"] for m in answer_call["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert answer_call["messages"][1]["content"] == FIRST.question
    assert answer_call["messages"][-1]["content"].endswith(f"Question: {FOLLOW_UP}")


@pytest.mark.slow
def test_an_off_topic_rewrite_is_refused_and_a_useless_one_falls_back(
    seeded, scripted: ScriptedOllama, tmp_path: Path
) -> None:
    model = OllamaChat(ollama_settings(scripted.url, tmp_path))
    ollama = Assistant(seeded.retriever, model, max_answer_tokens=64, followup="rewrite")
    scripted.script = ["What is the capital of Australia?"]
    refused = ollama.ask("What is the capital of Australia?", history=[FIRST]).result()
    assert refused.refused and not refused.sources
    assert len(scripted.bodies("/api/chat")) == 1, "refused by the gate: no answer asked for"
    scripted.script = [""]  # an empty rewrite: the question is searched as typed
    fallback = ollama.ask(FOLLOW_UP, history=[FIRST]).answer
    assert fallback.standalone_query == FOLLOW_UP
