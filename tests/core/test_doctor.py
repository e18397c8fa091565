"""`assistant doctor` as a user runs it: the real CLI, real Chroma, the real packaged model;
the fake Ollama of support/ollama.py only where a real one cannot run here."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli import run
from support.net import closed_port_url
from support.ollama import CHAT_MODEL, FakeOllama, live, running_fake_ollama


def doctor(data_dir: Path, **env: str) -> tuple[int, dict[str, Any], str]:
    """Run `doctor --json`; the exit code, the report and stderr."""
    result = run(["doctor", "--json"], data_dir, **env)
    return result.returncode, json.loads(result.stdout), result.stderr


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def failed(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: c for n, c in by_name(report).items() if not c["ok"]}


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with running_fake_ollama() as server:
        yield server
    assert not server.bodies("/api/pull"), "doctor must never pull a model"


@pytest.mark.slow
def test_healthy_embedded_setup_passes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "canteen.md").write_text("# Canteen\n\nThe canteen opens at 8am.\n")
    assert run(["ingest", str(docs)], tmp_path / "data").returncode == 0

    code, report, stderr = doctor(tmp_path / "data")
    assert code == 0 and report["ok"], report
    checks = by_name(report)
    assert {"settings", "offline", "data dir", "store", "embedder", "chat model"} <= set(checks)
    assert "384 dimensions" in checks["embedder"]["detail"]
    assert "dim 384" in checks["collection documents"]["detail"]
    assert "SmolLM2-135M-Instruct" in checks["chat model"]["detail"]
    assert "ANONYMIZED_TELEMETRY=False" in checks["offline"]["detail"]
    assert report["offline_env"]["HF_HUB_OFFLINE"] == "1"

    text = run(["doctor"], tmp_path / "data")
    assert text.returncode == 0 and text.stdout.strip().endswith("all checks passed")


@pytest.mark.parametrize("kind", ["missing", "not-a-model"])
def test_bad_gguf_fails_naming_the_setting(tmp_path: Path, kind: str) -> None:
    gguf = tmp_path / "llama.gguf"
    if kind == "not-a-model":
        gguf.write_bytes(b"GGUF" + b"\0" * 64)  # a truncated download
    code, report, _ = doctor(tmp_path / "data", ASSISTANT_MODEL_PATH=str(gguf))
    assert code == 1 and not report["ok"]
    [(name, check)] = failed(report).items()
    assert name == "chat model" and str(gguf) in check["detail"]
    assert ("not found" if kind == "missing" else "cannot load") in check["detail"]
    assert "ASSISTANT_MODEL_PATH" in check["fix"]


def test_text_output_prints_the_fix_and_exits_1(tmp_path: Path) -> None:
    result = run(["doctor"], tmp_path, ASSISTANT_MODEL_PATH=str(tmp_path / "gone.gguf"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    [fail] = [n for n, line in enumerate(lines) if line.startswith("FAIL")]
    assert "chat model" in lines[fail] and "fix: set ASSISTANT_MODEL_PATH" in lines[fail + 1]


@pytest.mark.parametrize("embedder", ["onnx", "ollama"])
def test_unreachable_ollama_fails_naming_host_and_fix(tmp_path: Path, embedder: str) -> None:
    url = closed_port_url()
    env = {"ASSISTANT_BACKEND": "ollama", "ASSISTANT_OLLAMA_HOST": url}
    code, report, _ = doctor(tmp_path, ASSISTANT_EMBEDDER=embedder, **env)
    assert code == 1
    bad = failed(report)
    assert set(bad) == ({"chat model", "embedder"} if embedder == "ollama" else {"chat model"})
    for check in bad.values():
        assert f"cannot reach Ollama at {url}" in check["detail"]
        assert "ollama serve" in check["fix"] and "ASSISTANT_OLLAMA_HOST" in check["fix"]


def test_ollama_without_the_model_names_pull_and_import(fake: FakeOllama, tmp_path: Path) -> None:
    env = {"ASSISTANT_BACKEND": "ollama", "ASSISTANT_OLLAMA_HOST": fake.url}
    code, report, _ = doctor(tmp_path, ASSISTANT_OLLAMA_MODEL="llama3.1:8b", **env)
    assert code == 1
    [(name, check)] = failed(report).items()
    assert name == "chat model" and "no model 'llama3.1:8b'" in check["detail"]
    assert CHAT_MODEL in check["detail"], "list what the server has"
    assert "`ollama pull llama3.1:8b`" in check["fix"]
    assert "`assistant models import FILE.gguf --name llama3.1:8b`" in check["fix"]

    code, report, _ = doctor(tmp_path, ASSISTANT_OLLAMA_MODEL=CHAT_MODEL, **env)
    assert code == 0 and by_name(report)["chat model"]["ok"], report
    assert fake.bodies("/api/chat") == [], "doctor lists models; it does not load one"


def test_embedder_mismatch_fails_naming_both_fixes(tmp_path: Path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    col = client.create_collection("hr-docs", metadata={"embedder": "ollama:nomic-embed-text"})
    col.add(ids=["a"], embeddings=[[0.1] * 768], documents=["leave policy"])
    del client

    code, report, _ = doctor(tmp_path)
    assert code == 1
    [(name, check)] = failed(report).items()
    assert name == "collection hr-docs" and "768 dimensions" in check["detail"]
    assert "'ollama:nomic-embed-text'" in check["detail"]
    assert "ASSISTANT_EMBEDDER=ollama ASSISTANT_OLLAMA_EMBED_MODEL=nomic-embed-text" in check["fix"]
    assert "`assistant ingest --rebuild -c hr-docs PATH...`" in check["fix"]


def test_data_dir_that_is_a_file_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    code, report, _ = doctor(blocker)
    assert code == 1
    bad = failed(report)
    assert {"data dir", "store"} <= set(bad)
    assert "ASSISTANT_DATA_DIR" in bad["data dir"]["fix"]
    assert blocker.read_text() == "not a folder", "doctor must not touch what is there"


@pytest.mark.ollama
@live
def test_live_ollama_model_present_and_made_up_one_missing(tmp_path: Path) -> None:
    env = {"ASSISTANT_BACKEND": "ollama", "ASSISTANT_OLLAMA_HOST": os.environ["OLLAMA_HOST"]}
    model = os.environ.get("ASSISTANT_OLLAMA_MODEL", "llama3.1:8b")
    code, report, _ = doctor(tmp_path, ASSISTANT_OLLAMA_MODEL=model, **env)
    assert by_name(report)["chat model"]["ok"], report
    code, report, _ = doctor(tmp_path, ASSISTANT_OLLAMA_MODEL="no-such-model-xyz:1b", **env)
    assert code == 1 and "no-such-model-xyz:1b" in failed(report)["chat model"]["fix"]
