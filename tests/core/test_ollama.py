"""Ollama backends against a fake server speaking Ollama's wire protocol, then a real one.

The fake (stdlib `http.server`, loopback only) is driven by the REAL `ollama` client, so these
tests check what we put on the wire and how we turn the client's failures into one
actionable `BackendUnavailable` line. Live tests (`-m ollama`) run the same code against the
server at OLLAMA_HOST.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ollama
import pytest
from support.cli import run
from support.net import closed_port_url
from support.ollama import (
    CHAT_MODEL,
    EMBED_MODEL,
    PIECES,
    SLOW_MODEL,
    STALL_MODEL,
    FakeOllama,
    live,
    running_fake_ollama,
    unit_vector,
)

from assistant.answering import Answer, AnswerStream
from assistant.embeddings.ollama import OllamaEmbedder
from assistant.errors import AssistantError, BackendUnavailable
from assistant.llm import Message
from assistant.llm.ollama import OllamaChat
from assistant.settings import Settings


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with running_fake_ollama() as server:
        yield server
    assert not server.bodies("/api/pull"), "the backends must never pull a model implicitly"


def settings_for(host: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "backend": "ollama", "embedder": "ollama", "ollama_host": host, "data_dir": tmp_path,
        "ollama_model": CHAT_MODEL, "ollama_embed_model": EMBED_MODEL, "ollama_timeout": 10.0,
        "temperature": 0.3, "seed": 7, "ollama_keep_alive": "5m", "context_window": 4096,
    } | overrides  # fmt: skip
    return Settings(**values)


def ask(text: str) -> list[Message]:
    return [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": text}]


def use(kind: str, s: Settings) -> None:
    """One chat or embed call, for tests that hold for both backends."""
    if kind == "chat":
        list(OllamaChat(s).stream(ask("hi"), max_tokens=16))
    else:
        OllamaEmbedder(s).embed(["hi"])


def test_chat_streams_pieces_in_order(fake: FakeOllama, tmp_path: Path) -> None:
    chat = OllamaChat(settings_for(fake.url, tmp_path))
    assert list(chat.stream(ask("Capital of France?"), max_tokens=64)) == PIECES
    assert chat.name == f"ollama:{CHAT_MODEL}"
    (body,) = fake.bodies("/api/chat")
    assert body["model"] == CHAT_MODEL and body["stream"] is True
    assert body["messages"] == ask("Capital of France?")
    assert "stop" not in body["options"]


def test_an_answer_counts_the_tokens_it_streamed(fake: FakeOllama, tmp_path: Path) -> None:
    """The web page's tokens/s comes from this count (one streamed piece per token)."""
    fake.pieces = ["Paris", " is", " the", " capital", " [1]", "."]
    answer = Answer("Capital of France?", "", [], False, CHAT_MODEL)
    model = OllamaChat(settings_for(fake.url, tmp_path))
    stream = AnswerStream(answer, model, ask("Capital of France?"), 64, time.perf_counter())
    assert "".join(stream) == "Paris is the capital [1]."
    timings = stream.result().timings
    assert timings["tokens"] == 6
    assert 0 < timings["first_token_s"] <= timings["total_s"]


def test_stop_sequences_reach_the_server(fake: FakeOllama, tmp_path: Path) -> None:
    chat = OllamaChat(settings_for(fake.url, tmp_path))
    list(chat.stream(ask("Capital of France?"), max_tokens=64, stop=["\nQuestion:"]))
    (body,) = fake.bodies("/api/chat")
    assert body["options"]["stop"] == ["\nQuestion:"]


def test_chat_request_sizes_num_ctx_and_passes_settings(fake: FakeOllama, tmp_path: Path) -> None:
    chat = OllamaChat(settings_for(fake.url, tmp_path, context_window=8192))
    short, short2 = ask("Capital of France?"), ask("And the capital of Italy, please?")
    medium, long = ask("word " * 2500), ask("word " * 9000)  # ~2,750 and ~9,900 tokens
    sent = (short, short2, medium, long, short)
    for messages in sent:
        list(chat.stream(messages, max_tokens=200))
    requests = fake.bodies("/api/chat")
    assert len(requests) == len(sent)
    for messages, body in zip(sent, requests, strict=True):
        options = body["options"]
        assert options["num_predict"] == 200
        assert options["temperature"] == 0.3 and options["seed"] == 7
        assert body["keep_alive"] == "5m"
        assert options["num_ctx"] <= chat.context_window
        if messages is not long:  # these fit the window
            assert options["num_ctx"] >= chat.count_tokens(messages) + 200
    ctx = [body["options"]["num_ctx"] for body in requests]
    assert ctx[0] == ctx[1], "Ollama reloads the model whenever num_ctx changes"
    assert ctx[1] < ctx[2] < 8192, "num_ctx must grow with the prompt"
    assert ctx[3] == 8192, "a prompt past the window is capped at context_window"
    assert ctx[4] == 8192, "num_ctx never shrinks back: that would reload the model again"


@pytest.mark.parametrize("kind", ["chat", "embed"])
def test_missing_model_names_the_fix_and_never_pulls(
    fake: FakeOllama, tmp_path: Path, kind: str
) -> None:
    s = settings_for(fake.url, tmp_path, ollama_model="nope:7b", ollama_embed_model="nope:7b")
    with pytest.raises(BackendUnavailable) as excinfo:
        use(kind, s)
    message = str(excinfo.value)
    assert "'nope:7b'" in message and "`ollama pull nope:7b`" in message
    assert [path for path, _ in fake.requests] == [f"/api/{kind}"]


@pytest.mark.parametrize("kind", ["chat", "embed"])
def test_unreachable_server_is_backend_unavailable(tmp_path: Path, kind: str) -> None:
    url = closed_port_url()
    s = settings_for(url, tmp_path)
    with pytest.raises(BackendUnavailable, match="cannot reach Ollama") as excinfo:
        use(kind, s)
    assert url in str(excinfo.value)


def test_embedder_sends_a_list_and_returns_one_vector_per_text(
    fake: FakeOllama, tmp_path: Path
) -> None:
    embedder = OllamaEmbedder(settings_for(fake.url, tmp_path))
    assert embedder.name == f"ollama:{EMBED_MODEL}"
    texts = ["first text", "second, longer text", "third"]
    vectors = embedder.embed(texts)
    assert vectors == [unit_vector(t) for t in texts]
    assert embedder.embed([]) == []  # no request for nothing
    (body,) = fake.bodies("/api/embed")
    assert body["model"] == EMBED_MODEL and body["input"] == texts
    assert body["keep_alive"] == "5m"


@pytest.mark.parametrize("kind", ["chat", "embed"])
def test_hung_server_times_out_naming_the_setting(
    fake: FakeOllama, tmp_path: Path, kind: str
) -> None:
    slow = {"ollama_model": SLOW_MODEL, "ollama_embed_model": SLOW_MODEL}
    s = settings_for(fake.url, tmp_path, ollama_timeout=1.0, **slow)
    with pytest.raises(BackendUnavailable, match="ASSISTANT_OLLAMA_TIMEOUT") as excinfo:
        use(kind, s)
    message = str(excinfo.value)
    assert fake.url in message and "sent nothing for 1s" in message
    assert (
        f"loading '{SLOW_MODEL}'" in message and "ASSISTANT_OLLAMA_KEEP_ALIVE (now 5m)" in message
    )


def test_stall_mid_answer_is_not_blamed_on_loading(fake: FakeOllama, tmp_path: Path) -> None:
    chat = OllamaChat(
        settings_for(fake.url, tmp_path, ollama_timeout=1.0, ollama_model=STALL_MODEL)
    )
    pieces: list[str] = []
    with pytest.raises(BackendUnavailable, match="stopped mid-answer") as excinfo:
        for piece in chat.stream(ask("hi"), max_tokens=16):
            pieces.append(piece)
    assert pieces == PIECES[:1] and "loading" not in str(excinfo.value)


# --- `assistant models import`: a local GGUF registered with no network -------------------


def write_gguf(path: Path, strings: dict[str, str]) -> Path:
    """A header-only GGUF file: a string array first (as the vocabulary is), then `strings`."""

    def text(value: str) -> bytes:
        data = value.encode()
        return struct.pack("<Q", len(data)) + data

    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(strings) + 2)
    out += text("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2) + text("a") + text("b")
    out += text("llama.context_length") + struct.pack("<II", 4, 8192)
    for key, value in strings.items():
        out += text(key) + struct.pack("<I", 8) + text(value)
    path.write_bytes(out)
    return path


# Fragments of each family's Jinja chat template (as found in GGUF metadata).
JINJA = {
    "llama3": "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>"
    "\\n\\n' + m['content'] + '<|eot_id|>' }}{% endfor %}",
    "llama2": "{% if messages[0]['role'] == 'system' %}{{ '<<SYS>>\\n' + system + '\\n<</SYS>>"
    "' }}{% endif %}{{ bos_token + '[INST] ' + content + ' [/INST]' }}",
    "chatml": "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] +"
    " '<|im_end|>\\n'}}{% endfor %}",
}


def test_gguf_header_reader_agrees_with_llama_cpp() -> None:
    from llama_cpp import Llama

    from assistant.llm.gguf_meta import read_strings
    from assistant.llm.llamacpp import packaged_model_path

    path = packaged_model_path()
    key = "tokenizer.chat_template"
    expected = Llama(str(path), vocab_only=True, verbose=False).metadata[key]
    assert read_strings(path, {key}) == {key: expected}


@pytest.mark.parametrize("family", ["llama3", "llama2", "chatml"])
def test_import_maps_the_family_template_and_stops(
    fake: FakeOllama, tmp_path: Path, family: str
) -> None:
    from assistant.llm import ollama_import

    gguf = write_gguf(tmp_path / "m.gguf", {"tokenizer.chat_template": JINJA[family]})
    done = ollama_import.import_gguf(settings_for(fake.url, tmp_path), gguf, "local:8b")
    fmt = {f.family: f for f in ollama_import.KNOWN}[family]
    (create,) = fake.bodies("/api/create")
    assert done.family == family and done.digest in fake.blobs
    assert create["files"] == {"m.gguf": done.digest} and create["model"] == "local:8b"
    assert create["template"] == fmt.template and "{{ .Content }}" in create["template"]
    assert create["parameters"] == {"stop": list(fmt.stop)}
    assert "local:8b" in fake.models


@pytest.mark.parametrize("template", ["{{ messages | custom_format }}", None])
def test_import_refuses_an_unknown_template_before_uploading(
    fake: FakeOllama, tmp_path: Path, template: str | None
) -> None:
    from assistant.llm.ollama_import import import_gguf

    meta = {"tokenizer.chat_template": template} if template else {}
    gguf = write_gguf(tmp_path / "odd.gguf", meta)
    with pytest.raises(AssistantError, match="--template FILE") as excinfo:
        import_gguf(settings_for(fake.url, tmp_path), gguf, "odd")
    assert str(gguf) in str(excinfo.value)
    assert fake.requests == [], "nothing may be uploaded for a model that would be garbled"


def test_import_cli_uploads_the_packaged_gguf_with_its_digest(
    fake: FakeOllama, tmp_path: Path
) -> None:
    from assistant.llm.llamacpp import packaged_model_path
    from assistant.llm.ollama_import import CHATML

    gguf = packaged_model_path()
    args = ["models", "import", str(gguf), "--name", "smollm2-local", "--json"]
    result = run(args, tmp_path, ASSISTANT_OLLAMA_HOST=fake.url)
    assert result.returncode == 0, result.stderr
    digest = f"sha256:{hashlib.sha256(gguf.read_bytes()).hexdigest()}"
    assert json.loads(result.stdout)["digest"] == digest
    assert fake.blobs == {digest: gguf.stat().st_size}, "the whole file, under its own sha256"
    (create,) = fake.bodies("/api/create")
    assert create["files"] == {gguf.name: digest}
    assert create["template"] == CHATML.template  # SmolLM2 speaks ChatML
    assert create["parameters"]["stop"] == ["<|im_start|>", "<|im_end|>"]
    assert [p for p, _ in fake.requests] == [f"/api/blobs/{digest}", "/api/create"]


def test_import_cli_takes_a_template_file_and_stops(fake: FakeOllama, tmp_path: Path) -> None:
    gguf = write_gguf(tmp_path / "odd.gguf", {"tokenizer.chat_template": "{{ odd }}"})
    template = tmp_path / "odd.tmpl"
    template.write_text("{{ range .Messages }}<{{ .Role }}>{{ .Content }}{{ end }}<assistant>")
    args = ["models", "import", str(gguf), "--name", "odd", "--template", str(template)]
    args += ["--stop", "<user>", "--stop", "<system>"]
    result = run(args, tmp_path, ASSISTANT_OLLAMA_HOST=fake.url)
    assert result.returncode == 0, result.stderr
    assert "ASSISTANT_OLLAMA_MODEL=odd" in result.stdout
    (create,) = fake.bodies("/api/create")
    assert create["template"] == template.read_text()
    assert create["parameters"] == {"stop": ["<user>", "<system>"]}


@pytest.mark.parametrize("case", ["not-gguf", "missing", "unreachable"])
def test_import_cli_errors_are_one_line(tmp_path: Path, case: str) -> None:
    path = tmp_path / "model.gguf"
    if case == "not-gguf":
        path.write_text("<html>a download error page</html>")
    elif case == "unreachable":
        write_gguf(path, {"tokenizer.chat_template": JINJA["chatml"]})
    host = closed_port_url()
    result = run(
        ["models", "import", str(path), "--name", "m"], tmp_path, ASSISTANT_OLLAMA_HOST=host
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    expected = {"not-gguf": "not a GGUF file", "missing": "file not found"}
    assert expected.get(case, f"cannot reach Ollama at {host}") in result.stderr


# --- live: a real Ollama server -------------------------------------------------------------


def live_settings(tmp_path: Path, **overrides: Any) -> Settings:
    # Model names come from ASSISTANT_OLLAMA_MODEL / ASSISTANT_OLLAMA_EMBED_MODEL if set
    # (conftest keeps those two), else the product defaults.
    values = {"backend": "ollama", "embedder": "ollama", "data_dir": tmp_path} | overrides
    return Settings(ollama_host=os.environ["OLLAMA_HOST"], **values)


@pytest.mark.ollama
@live
def test_live_chat_streams_an_answer(tmp_path: Path) -> None:
    chat = OllamaChat(live_settings(tmp_path))
    pieces = list(chat.stream(ask("Say hello in one word."), max_tokens=16))
    assert "".join(pieces).strip()


@pytest.mark.ollama
@live
def test_live_embeddings_are_unit_vectors(tmp_path: Path) -> None:
    vectors = OllamaEmbedder(live_settings(tmp_path)).embed(["a cat", "quarterly VPN policy"])
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 0
    for vector in vectors:
        assert math.sqrt(sum(x * x for x in vector)) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.ollama
@live
def test_live_made_up_model_is_backend_unavailable(tmp_path: Path) -> None:
    s = live_settings(tmp_path, ollama_model="no-such-model-xyz:1b")
    with pytest.raises(BackendUnavailable, match="ollama pull no-such-model-xyz:1b"):
        list(OllamaChat(s).stream(ask("hi"), max_tokens=8))


@pytest.mark.ollama
@live
def test_live_import_of_the_packaged_gguf_answers(tmp_path: Path) -> None:
    from assistant.llm.llamacpp import packaged_model_path
    from assistant.llm.ollama_import import import_gguf

    name = "onprem-assistant-test-smollm2"
    s = live_settings(tmp_path, ollama_model=name)
    try:
        done = import_gguf(s, packaged_model_path(), name)
        assert done.family == "chatml"
        pieces = list(OllamaChat(s).stream(ask("Say hello."), max_tokens=16))
        text = "".join(pieces)
        assert text.strip() and "<|im_start|>" not in text and "<|im_end|>" not in text
    finally:
        ollama.Client(host=os.environ["OLLAMA_HOST"]).delete(name)
