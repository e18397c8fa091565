"""The `assistant` command as a user or a script runs it: real process, real exit codes."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support.cli import clean_env, run
from support.paths import ASSISTANT


def test_config_prints_effective_settings_from_the_environment(tmp_path):
    result = run(["config", "--json"], tmp_path, ASSISTANT_TOP_K="7")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["settings"]["top_k"] == 7
    assert data["settings"]["data_dir"] == str(tmp_path)
    assert data["offline_env"]["ANONYMIZED_TELEMETRY"] == "False"


def test_config_file_is_read_and_environment_wins(tmp_path):
    toml = tmp_path / "assistant.toml"
    toml.write_text('top_k = 3\nmodel_path = "/models/llama.gguf"\n')
    result = run(["config", "--json"], tmp_path, ASSISTANT_CONFIG=str(toml), ASSISTANT_TOP_K="5")
    settings = json.loads(result.stdout)["settings"]
    assert settings["top_k"] == 5 and settings["model_path"] == "/models/llama.gguf"


def test_invalid_setting_is_one_line_error_not_a_traceback(tmp_path):
    result = run(["docs"], tmp_path, ASSISTANT_TOP_K="many")
    assert result.returncode == 1
    assert result.stderr.startswith("error: invalid settings") and "top_k" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_ingest_reports_bad_files_and_exits_1(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Canteen\n\nThe canteen opens at 8am.\n")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    result = run(["ingest", "--json", str(docs)], tmp_path / "data")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["counts"] == {
        "added": 1,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
        "failed": 1,
    }
    [failed] = [f for f in report["files"] if f["status"] == "failed"]
    assert failed["path"].endswith("broken.pdf") and "corrupt PDF" in failed["reason"]
    listed = json.loads(run(["docs", "--json"], tmp_path / "data").stdout)
    assert [Path(d["source"]).name for d in listed] == ["good.md"]


def test_after_an_upgrade_the_keyword_index_is_rebuilt_first_and_the_user_is_told(tmp_path):
    """An index whose terms an earlier version made (it recorded no analyzer) is rebuilt
    before the command's own work, with a line that says so, not as a silent stall."""
    import sqlite3

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fair.md").write_text("# FAIR\n\nFAIR is led by Yann LeCun.\n")
    data = tmp_path / "data"
    assert run(["ingest", str(docs)], data).returncode == 0
    with sqlite3.connect(data / "chroma" / "manifest.sqlite3") as db:
        db.execute("UPDATE keyword_collections SET analyzer = ''")
    for command in (["ingest", str(docs)], ["ask", "--json", "Who leads FAIR?"]):
        result = run(command, data, ASSISTANT_ANSWER_STYLE="quoted")
        assert result.returncode == 0, result.stderr
        rebuilt = "Keyword index of 'documents': rebuilding it from its chunks" in result.stderr
        assert rebuilt == (command[0] == "ingest"), result.stderr  # once: then it is current
    assert "Yann LeCun" in json.loads(result.stdout)["text"]


def test_unknown_command_is_usage_error_2(tmp_path):
    assert run(["frobnicate"], tmp_path).returncode == 2


@pytest.mark.slow
def test_ask_json_seeds_an_empty_store_and_returns_answer_and_sources(tmp_path):
    question = "When was Llama 2 released, and under what licence?"
    result = run(["ask", "--json", question], tmp_path, ASSISTANT_ANSWER_STYLE="generated")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["text"] and not answer["refused"]
    assert answer["sources"] and all(Path(s["source"]).is_file() for s in answer["sources"])
    assert {"retrieval_s", "first_token_s", "total_s"} <= set(answer["timings"])
    assert "Indexed 5 documents" in result.stderr  # first start seeded the store


@pytest.mark.slow
def test_ask_streams_text_then_lists_sources(tmp_path):
    result = run(["ask", "What did the Russian army do in 1812?"], tmp_path)
    assert result.returncode == 0, result.stderr
    answer, sources = result.stdout.split("\nSources:\n")
    assert answer.strip()
    assert "003_28e6aa56330e3488.txt" in sources.splitlines()[0]


@pytest.mark.slow
def test_empty_question_is_an_error(tmp_path):
    result = run(["ask", "  "], tmp_path)
    assert result.returncode == 1 and result.stderr.strip().endswith("the question is empty")


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("unshare"), reason="needs util-linux unshare")
def test_ask_works_with_no_network_at_all(tmp_path):
    """Air-gap proof: a fresh data dir, a namespace with loopback only, a seed question."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    assert probe.returncode == 0, "unshare -n needs root (CI runs as root)"
    env = clean_env(tmp_path)
    script = f'ip link set lo up && exec "{ASSISTANT}" ask --json "Who leads FAIR at Meta?"'
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sources"]


def test_rebuild_keeps_exactly_the_given_files_and_a_typo_removes_nothing(tmp_path):
    keep, other = tmp_path / "keep", tmp_path / "other"
    keep.mkdir(), other.mkdir()
    (keep / "a.md").write_text("# A\n\nAlpha.\n")
    (other / "b.md").write_text("# B\n\nBravo.\n")
    data = tmp_path / "data"
    assert run(["ingest", str(keep), str(other)], data).returncode == 0
    typo = run(["ingest", "--rebuild", "--json", str(keep), str(tmp_path / "kep")], data)
    assert typo.returncode == 1 and json.loads(typo.stdout)["counts"]["removed"] == 0
    rebuilt = run(["ingest", "--rebuild", "--json", str(keep)], data)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["counts"] == {
        "added": 0,
        "updated": 0,
        "unchanged": 1,
        "removed": 1,
        "failed": 0,
    }
    listed = json.loads(run(["docs", "--json"], data).stdout)
    assert [Path(d["source"]).name for d in listed] == ["a.md"]


def test_rebuild_re_embeds_a_collection_built_with_another_embedder(tmp_path):
    import chromadb

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nThe canteen opens at 8am.\n")
    data = tmp_path / "data"
    assert run(["ingest", "-c", "team", str(docs)], data).returncode == 0
    client = chromadb.PersistentClient(path=str(data / "chroma"))
    client.get_collection("team").modify(metadata={"embedder": "ollama:nomic-embed-text"})
    del client
    refused = run(["ask", "-c", "team", "When does the canteen open?"], data)
    assert refused.returncode == 1 and "--rebuild" in refused.stderr
    rebuilt = run(["ingest", "-c", "team", "--rebuild", "--json", str(docs)], data)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["counts"]["added"] == 1
    assert "re-embedding" in rebuilt.stderr
    listed = json.loads(run(["collections", "--json"], data).stdout)
    assert {c["name"]: c["chunks"] for c in listed}["team"] == 1
