"""Kill `assistant ingest` (SIGKILL) at every step of a replace, then check the store.

After each kill: every document the manifest lists is visible exactly once, whole (all its
chunks, one version, old or new), and no chunk of another version is visible; the next run
completes the sync and leaves no orphaned chunk in Chroma.
"""

import signal
import subprocess

import pytest
from support.cli import clean_env
from support.crash import check_consistent, ingest, policy_text
from support.paths import ASSISTANT


@pytest.mark.slow
@pytest.mark.parametrize(
    "crash",
    [
        "intent:2",
        "upsert:2",  # chunks in Chroma, not yet in the keyword index
        "batch:3",
        "flip:1",
        "flip:2",
        "delete-old:1",
        "remove-intent",
        "remove-flip",
    ],
)
def test_a_killed_ingest_leaves_whole_documents_and_the_next_run_completes_it(tmp_path, crash):
    data, files = tmp_path / "data", tmp_path / "files"
    files.mkdir()
    for topic in ("leave", "travel", "expenses", "security", "training"):
        (files / f"{topic}.md").write_text(policy_text(topic, 1))
    first = ingest(data, str(files))
    assert first.returncode == 0, first.stderr
    for topic in ("leave", "travel", "expenses"):  # changed
        (files / f"{topic}.md").write_text(policy_text(topic, 2, paragraphs=8))
    (files / "security.md").unlink()  # deleted
    (files / "remote.md").write_text(policy_text("remote", 1))  # new

    killed = ingest(data, "--prune", str(files), ASSISTANT_TEST_CRASH_AFTER=crash)
    assert killed.returncode == -signal.SIGKILL, (crash, killed.stdout, killed.stderr)
    check_consistent(data)

    again = ingest(data, "--prune", "--json", str(files))
    assert again.returncode == 0, again.stderr
    check_consistent(data, files)
    rerun = ingest(data, "--prune", "--json", str(files))
    assert '"unchanged": 5' in rerun.stdout and '"removed": 0' in rerun.stdout


@pytest.mark.slow
def test_a_kill_from_outside_mid_run_is_repaired(tmp_path):
    data, files = tmp_path / "data", tmp_path / "files"
    files.mkdir()
    for i in range(12):
        (files / f"doc{i:02}.md").write_text(policy_text(f"topic{i}", 1))
    environ = clean_env(data, ASSISTANT_EMBED_BATCH="4")
    proc = subprocess.Popen(
        [ASSISTANT, "ingest", str(files)], stdout=subprocess.PIPE, text=True, env=environ
    )
    assert proc.stdout is not None
    for _ in range(3):  # three documents committed, the rest in flight
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    check_consistent(data)
    again = ingest(data, str(files))
    assert again.returncode == 0, again.stderr
    check_consistent(data, files)
