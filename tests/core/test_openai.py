"""The OpenAI-compatible backend against a real server: llama-cpp-python's
`python -m llama_cpp.server` on the packaged GGUF, on loopback, driven through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.cli import run
from support.net import free_port

from assistant.errors import BackendUnavailable
from assistant.llm import Message
from assistant.llm.estimate import estimate_tokens
from assistant.llm.llamacpp import packaged_model_path
from assistant.llm.openai import OpenAIChat
from assistant.settings import Settings

ALIAS, KEY = "smollm2", "s3cret-test-key"
QUESTION = "When was Llama 2 released, and under what licence?"


class LlamaServer:
    """`python -m llama_cpp.server` in a subprocess, ready once it lists its model."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._log = log.open("wb")
        args = ["--model", str(packaged_model_path()), "--model_alias", ALIAS]
        args += ["--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "4096"]
        args += ["--api_key", KEY, "--n_threads", "2"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(log)

    def _wait_ready(self, log: Path, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                headers = {"Authorization": f"Bearer {KEY}"}
                if httpx.get(f"{self.url}/models", headers=headers, timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("llama_cpp.server did not start in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    srv = LlamaServer(tmp_path_factory.mktemp("llama-server") / "server.log")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the CLI tests: the first `ask` seeds it (~10 s), the rest reuse it."""
    return tmp_path_factory.mktemp("data")


def settings_for(url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values = {"backend": "openai", "openai_base_url": url, "openai_api_key": KEY}
    return Settings(data_dir=tmp_path, **(values | overrides))


def cli_env(url: str, **overrides: str) -> dict[str, str]:
    env = {
        "ASSISTANT_BACKEND": "openai",
        "ASSISTANT_OPENAI_BASE_URL": url,
        "ASSISTANT_OPENAI_API_KEY": KEY,
    }
    return env | overrides


def ask(text: str) -> list[Message]:
    return [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": text}]


# --- fast: no server ---------------------------------------------------------------------


def test_closed_port_is_backend_unavailable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    chat = OpenAIChat(settings_for(url, tmp_path))
    with pytest.raises(BackendUnavailable, match="cannot reach the server at") as excinfo:
        list(chat.stream(ask("hi"), max_tokens=8))
    assert url in str(excinfo.value) and "ASSISTANT_OPENAI_BASE_URL" in str(excinfo.value)


def test_config_never_prints_the_api_key(tmp_path: Path) -> None:
    result = run(["config", "--json"], tmp_path, ASSISTANT_OPENAI_API_KEY=KEY)
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stdout
    assert json.loads(result.stdout)["settings"]["openai_api_key"] == "**********"


def test_estimate_never_undercounts_the_real_tokenizer() -> None:
    """The fallback count errs high on prose, numbers and non-ASCII text (SmolLM2's
    tokenizer, which spends a token per digit, is the hard case)."""
    from llama_cpp import Llama
    from support.paths import SEEDS

    from assistant.llm.estimate import estimate_text

    vocab = Llama(str(packaged_model_path()), vocab_only=True, verbose=False)
    samples = [p.read_text() for p in sorted(SEEDS.iterdir()) if p.is_file()]
    samples += ["Q3 2024: 1,234,567 EUR; 12.5% (p. 42) — ok " * 20, "naïve café 東京 " * 30]
    pieces = [text[i : i + 700] for text in samples for i in range(0, len(text), 700)]
    total_true = total_est = 0
    for piece in pieces:
        true = len(vocab.tokenize(piece.encode(), add_bos=False))
        assert estimate_text(piece) >= true, (piece[:60], estimate_text(piece), true)
        total_true, total_est = total_true + true, total_est + estimate_text(piece)
    assert total_est < 2 * total_true, "conservative, but not so much it wastes the window"


# --- slow: the real server ---------------------------------------------------------------


@pytest.mark.slow
def test_streams_in_pieces_within_max_tokens_and_repeats(
    server: LlamaServer, tmp_path: Path
) -> None:
    chat = OpenAIChat(settings_for(server.url, tmp_path, openai_model=""))
    question = ask("Name three colours.")
    pieces = list(chat.stream(question, max_tokens=24))
    assert chat.name == f"openai:{ALIAS}", "an empty model name means the one served"
    assert len(pieces) > 1 and "".join(pieces).strip(), "the answer must arrive in pieces"
    assert list(chat.stream(question, max_tokens=24)) == pieces, "temperature 0 + seed repeat"
    short = list(chat.stream(question, max_tokens=3))
    assert 1 <= len(short) <= 3, "max_tokens must reach the server"
    counting = ask("Count from 1 to 10.")
    full = "".join(chat.stream(counting, max_tokens=40)).strip()
    assert "\n" in full  # SmolLM2 writes one number a line
    stopped = "".join(chat.stream(counting, max_tokens=40, stop=["\n"]))
    assert stopped.strip() == full[: full.index("\n")].strip(), "stop must reach the server"


@pytest.mark.slow
def test_count_uses_the_server_tokenizer_and_errs_high(server: LlamaServer, tmp_path: Path) -> None:
    from assistant.llm.llamacpp import LlamaCppChat

    chat = OpenAIChat(settings_for(server.url, tmp_path))
    exact = LlamaCppChat(Settings(data_dir=tmp_path, threads=1))
    for messages in (ask("hi"), ask("The canteen opens at 8am. " * 60)):
        counted, truth = chat.count_tokens(messages), exact.count_tokens(messages)
        assert truth <= counted <= truth + 24, (counted, truth)
    assert chat.tokenizer == "llama-cpp-python /extras/tokenize"
    long = ask("The canteen opens at 8am. " * 60)
    assert exact.count_tokens(long) <= chat.count_tokens(long) < estimate_tokens(long)


@pytest.mark.slow
def test_ask_json_answers_and_cites_seed_sources(server: LlamaServer, data_dir: Path) -> None:
    result = run(["ask", "--json", QUESTION], data_dir, **cli_env(server.url))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["model"] == f"openai:{ALIAS}"
    assert answer["text"] and not answer["refused"]
    sources = [Path(s["source"]).name for s in answer["sources"]]
    assert "001_5fec047b8f95376e.txt" in sources, sources  # the Llama 2 release document
    timings = answer["timings"]
    assert 0 < timings["first_token_s"] < timings["total_s"], "the answer must stream"
    assert answer["prompt_tokens"] > 100


@pytest.mark.slow
def test_wrong_model_lists_what_the_server_has(server: LlamaServer, data_dir: Path) -> None:
    env = cli_env(server.url, ASSISTANT_OPENAI_MODEL="llama3.1-8b")
    result = run(["ask", QUESTION], data_dir, **env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    error = result.stderr.splitlines()[-1]  # after the seeding lines: one line, the fix
    assert error.startswith("error: ") and "no model 'llama3.1-8b'" in error
    assert f"serves: {ALIAS}" in error


@pytest.mark.slow
@pytest.mark.parametrize("key", ["wrong-key", ""])
def test_auth_failure_names_the_setting(server: LlamaServer, data_dir: Path, key: str) -> None:
    env = cli_env(server.url)
    if key:
        env["ASSISTANT_OPENAI_API_KEY"] = key
    else:
        del env["ASSISTANT_OPENAI_API_KEY"]
    result = run(["ask", QUESTION], data_dir, **env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "ASSISTANT_OPENAI_API_KEY" in result.stderr
    assert ("refused the API key given" if key else "refused no API key") in result.stderr


@pytest.mark.slow
def test_killed_server_is_a_clear_error(tmp_path: Path, data_dir: Path) -> None:
    srv = LlamaServer(tmp_path / "server.log")
    try:
        chat = OpenAIChat(settings_for(srv.url, tmp_path))
        assert chat.check() == ALIAS
    finally:
        srv.stop()
    result = run(["ask", QUESTION], data_dir, **cli_env(srv.url))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cannot reach the server at {srv.url}" in result.stderr
    with pytest.raises(BackendUnavailable, match="cannot reach"):
        list(chat.stream(ask("hi"), max_tokens=8))
    with pytest.raises(BackendUnavailable, match="cannot reach"):
        chat.count_tokens(ask("hi"))


@pytest.mark.slow
def test_doctor_checks_the_server_and_its_model(server: LlamaServer, tmp_path: Path) -> None:
    result = run(["doctor", "--json"], tmp_path, **cli_env(server.url))
    assert result.returncode == 0, result.stdout
    chat = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["chat model"]
    assert f"serves '{ALIAS}'" in chat["detail"] and "/extras/tokenize" in chat["detail"]

    env = cli_env(server.url, ASSISTANT_OPENAI_MODEL="llama3.1-8b")
    result = run(["doctor", "--json"], tmp_path, **env)
    assert result.returncode == 1
    checks = json.loads(result.stdout)["checks"]
    [bad] = [c for c in checks if not c["ok"]]
    assert bad["name"] == "chat model" and f"it serves: {ALIAS}" in bad["detail"]


def test_name_does_not_need_the_server(tmp_path: Path) -> None:
    """`serve` reads the name at start: a model server still starting must not stop it."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    assert OpenAIChat(settings_for(url, tmp_path, openai_model="m")).name == "openai:m"
    assert OpenAIChat(settings_for(url, tmp_path)).name == "openai:(the served model)"


@pytest.mark.slow
def test_a_server_model_rewrites_a_follow_up_and_answers_with_the_turn_in_its_prompt(
    server: LlamaServer, seeded: Any, tmp_path: Path
) -> None:
    """Issue 14: the rewrite path (the OpenAI backend's default) against the real server."""
    from assistant.answering import Assistant
    from assistant.conversation import Turn
    from assistant.rewrite import rewrite

    first = Turn("When did LLaMA 3 come out?", "LLaMA 3 came out in April 2024 [1].")
    follow_up = "How many tokens was it trained on?"
    s = settings_for(server.url, tmp_path, max_answer_tokens=48)
    assert s.followup_strategy == "rewrite"
    model = OpenAIChat(s)
    assistant = Assistant(
        seeded.retriever,
        model,
        max_answer_tokens=48,
        followup=s.followup_strategy,
        history_tokens=s.history_budget,
    )
    stream = assistant.ask(follow_up, history=[first])
    answer = stream.result()
    query = answer.standalone_query
    assert answer.followup == "rewrite" and query and "\n" not in query and len(query) <= 200
    assert query == rewrite(model, [first], follow_up), "temperature 0: the same rewrite"
    assert answer.turns_used == 1
    roles = [m["role"] for m in stream._messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert stream._messages[1]["content"] == first.question
    if not answer.refused:  # the server's model answered with the earlier turn in view
        assert answer.text.strip() and answer.sources
