"""The rewrite path and a multi-turn prompt against a real OpenAI-compatible server:
llama-cpp-python's `python -m llama_cpp.server` on the packaged GGUF, on loopback (as in
tests/test_openai.py), with the real seed store and embedder."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_openai import LlamaServer, server, settings_for  # noqa: F401  (the fixture)

from assistant.answering import Assistant
from assistant.conversation import Turn
from assistant.llm.openai import OpenAIChat
from assistant.rewrite import rewrite
from assistant.settings import Settings

pytestmark = pytest.mark.slow
FIRST = Turn("When did LLaMA 3 come out?", "LLaMA 3 came out in April 2024 [1].")
FOLLOW_UP = "How many tokens was it trained on?"


def test_a_server_model_rewrites_the_follow_up_and_answers_with_the_turn_in_its_prompt(
    server: LlamaServer,  # noqa: F811
    seeded,
    tmp_path: Path,
) -> None:
    s = settings_for(server.url, tmp_path, max_answer_tokens=48)
    assert Settings(data_dir=tmp_path, backend="openai").followup_strategy == "rewrite"
    model = OpenAIChat(s)
    assistant = Assistant(
        seeded.retriever,
        model,
        max_answer_tokens=48,
        followup=s.followup_strategy,
        history_tokens=s.history_budget,
    )
    stream = assistant.ask(FOLLOW_UP, history=[FIRST])
    answer = stream.result()
    query = answer.standalone_query
    assert answer.followup == "rewrite" and query and "\n" not in query and len(query) <= 200
    assert query == rewrite(model, [FIRST], FOLLOW_UP), "temperature 0: the same rewrite"
    assert answer.turns_used == 1 and answer.timings["first_token_s"] > 0
    roles = [m["role"] for m in stream._messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert stream._messages[1]["content"] == FIRST.question
    if not answer.refused:  # the server's model answered with the earlier turn in view
        assert answer.text.strip() and answer.sources
