"""Uploading and deleting documents in the web UI: the real indexer, real Chroma and the
real embedder behind the page, driven by a real headless Chromium as a person would.

What is checked is what an organisation has to trust: every file gets a visible result
with its reason, nothing outside the limits is stored, a failed replacement keeps the old
version (in the store and on disk), and a deleted document is gone, with its copy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

import pytest
from gradio.utils import get_upload_folder
from support.browser import browser_page
from support.embedder import Recording
from support.paths import make_settings
from support.server import serving

from assistant.cli.wiring import index_files
from assistant.factory import Components
from assistant.uploads import Uploads, collection_problem, name_problem, run, screen

pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")

LIMIT_MB = 0.01  # 10 KiB: a 24 KiB text file is over it, the policy below well under
TRAVEL = """# Travel policy

## Per diem

Staff travelling abroad receive a per diem of 85 euros a day, paid with the salary.

## Booking

Book trains rather than flights for any trip under 600 km.
"""
HANDBOOK = "The office opens at nine. Lunch is served at noon in the canteen.\n"
QUESTION = "How much is the per diem when travelling abroad?"
TIMEOUT_MS = 60_000

# Every busy status line the page renders during an upload (a MutationObserver sees each
# rendered state; polling could miss them).
WATCH_PROGRESS_JS = """() => { window.progressLines = new Set();
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('#upload-results .upload-status.is-busy'))
      window.progressLines.add(el.innerText.trim());
  }).observe(document.body, {childList: true, subtree: true, characterData: true}); }"""


@pytest.fixture
def parts(tmp_path: Path) -> Components:
    """A store of its own whose default collection holds one good document already."""
    parts = Components(
        make_settings(
            tmp_path / "data", upload_max_mb=LIMIT_MB, auto_seed=False, max_answer_tokens=32
        )
    )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "handbook.txt").write_text(HANDBOOK)
    report = index_files(parts, [corpus])
    assert report.counts["added"] == 1
    return parts


@pytest.fixture
def uploads(parts: Components) -> Uploads:
    return Uploads.from_settings(parts.settings, partial(index_files, parts))


@pytest.fixture
def server(parts: Components) -> Iterator[str]:
    """The app as `assistant serve` runs it (login off), uploads on, on a loopback port."""
    with serving(parts) as (url, _):
        yield url + "/"


def _files(folder: Path) -> dict[str, Path]:
    """A good document, a junk PDF, one over the size limit, one of a refused type."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "travel-policy.md": TRAVEL.encode(),
        "scan.pdf": b"this is not a pdf at all\n",
        "big.txt": b"word " * 5000,
        "tool.exe": b"MZ\x90\x00",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


def _upload(uploads: Uploads, collection: str, *paths: Path) -> dict[str, tuple[str, str]]:
    """Run an upload as the page does; name -> (status, reason)."""
    last = list(run(screen(paths, uploads), collection, uploads))[-1]
    assert last.done and last.error is None
    return {i.name: (i.status, i.reason) for i in last.items}


def test_new_collection_names_follow_chromas_rules_and_stay_folder_names():
    for good in ("hr-policies", "Team_2.docs", "a" * 63):
        assert collection_problem(good) is None, good
    for bad in ("hr", "team docs", "-hr", "hr.", "a..b", "../etc", "ö-docs", "10.0.0.1", "a" * 64):
        assert collection_problem(bad), bad


def test_upload_names_are_refused_with_a_reason_never_rewritten():
    assert name_problem("policy v2 (final).pdf") is None
    for bad in ("../x.md", "a/b.md", "a\\b.md", "..md", ".hidden.md", "a\x07.md", " a.md"):
        assert name_problem(bad), bad


@pytest.mark.slow
def test_replacing_by_name_and_a_failed_replacement_keeps_the_old_version(parts, uploads, tmp_path):
    store, folder = parts.store, uploads.folder / "policies"
    travel = _files(tmp_path / "in1")["travel-policy.md"]
    assert _upload(uploads, "policies", travel) == {"travel-policy.md": ("added", "")}
    assert not travel.exists(), "the temporary upload is deleted once handled"
    [doc] = store.documents("policies")
    assert doc.source == str(folder / "travel-policy.md")

    again = _files(tmp_path / "in2")["travel-policy.md"]
    assert _upload(uploads, "policies", again)["travel-policy.md"] == ("unchanged", "")

    changed = tmp_path / "in3" / "travel-policy.md"
    changed.parent.mkdir()
    changed.write_text(TRAVEL.replace("85 euros", "90 euros"))
    assert _upload(uploads, "policies", changed)["travel-policy.md"] == ("updated", "")
    [new] = store.documents("policies")
    assert new.doc_hash != doc.doc_hash and "90 euros" in (folder / "travel-policy.md").read_text()

    empty = tmp_path / "in4" / "travel-policy.md"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    assert _upload(uploads, "policies", empty)["travel-policy.md"] == ("failed", "empty file")
    assert store.documents("policies") == [new], "a failed replacement keeps the old version"
    assert "90 euros" in (folder / "travel-policy.md").read_text(), "... and its copy"

    junk = _files(tmp_path / "in5")["scan.pdf"]
    result = _upload(uploads, "policies", junk, changed.parent / "missing.md")
    assert result["scan.pdf"][0] == "failed" and "PDF" in result["scan.pdf"][1]
    assert result["missing.md"] == ("failed", "the upload is gone; upload it again")
    assert sorted(p.name for p in folder.iterdir()) == ["travel-policy.md"], "no leftovers"


def _wards(east_beds: int) -> str:
    """A handbook of several chunks (one section a ward); one number in one of them."""
    duties = (
        "Visiting hours run from two to eight, and the nurse in charge signs in every visitor."
        " Medicines are checked by two nurses at each round, and the round is written up in"
        " the ward book before the shift ends. Fire doors stay closed at all times."
    )
    wards = ["North", "South", "East", "West", "Maternity", "Children's"]
    sections = [
        f"## {ward} ward\n\n"
        + (f"The East ward has {east_beds} beds. " if ward == "East" else "")
        + f"The {ward} ward follows the house rules. {duties} {duties}"
        for ward in wards
    ]
    return "# Wards\n\n" + "\n\n".join(sections) + "\n"


@pytest.mark.slow
def test_replacing_an_edited_file_embeds_only_the_chunks_it_changed(
    parts, uploads, tmp_path, monkeypatch
):
    """The same name uploaded again with one number changed: its new version takes the
    stored vectors of the chunks whose text did not change, as `assistant ingest` does."""
    first = tmp_path / "in1" / "wards.md"
    first.parent.mkdir()
    first.write_text(_wards(14))
    assert _upload(uploads, "wards", first) == {"wards.md": ("added", "")}
    [doc] = parts.store.documents("wards")
    assert doc.chunks >= 4

    recording = Recording(parts.store.embedder)
    monkeypatch.setattr(parts.store, "embedder", recording)
    edited = tmp_path / "in2" / "wards.md"
    edited.parent.mkdir()
    edited.write_text(_wards(31))
    result = _upload(uploads, "wards", edited)
    assert result == {
        "wards.md": ("updated", f"1 of {doc.chunks} chunks embedded again, the rest unchanged")
    }
    assert len(recording.texts) == 1 and "East ward has 31 beds" in recording.texts[0]
    hit = parts.retriever.retrieve("How many beds does the East ward have?", collection="wards")
    assert "31 beds" in hit.hits[0].chunk.text


@pytest.mark.slow
def test_browser_upload_shows_each_files_result_and_delete_removes_the_document(
    parts, uploads, server, tmp_path
):
    from playwright.sync_api import expect

    store = parts.store
    before = store.documents()
    files = _files(tmp_path / "picked")
    started = time.time() - 1
    with browser_page(server) as (page, requests):
        page.get_by_role("tab", name="Documents").click()
        expect(page.locator("#collection-documents .doc-file")).to_have_text(["handbook.txt"])

        # An invalid new collection name is refused before anything is stored.
        new_name = page.locator("#new-collection textarea")
        new_name.fill("team docs")
        page.locator("#upload-files input[type=file]").set_input_files(list(files.values()))
        expect(page.locator("#upload-files tr.file")).to_have_count(4)
        page.locator("#upload").click()
        expect(page.locator("#upload-results")).to_contain_text(
            "'team docs' cannot be a collection"
        )
        expect(page.locator("#upload-files tr.file")).to_have_count(4)  # still chosen

        new_name.fill("team-docs")
        page.evaluate(WATCH_PROGRESS_JS)
        page.locator("#upload").click()
        page.locator("#upload-results .upload-status.is-done").wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path="/tmp/ui-upload.png", full_page=True)
        rows = page.locator("#upload-results tr.res")
        shown = {
            row.locator(".res-file").inner_text(): (
                row.locator(".res-status").inner_text(),
                row.locator(".res-reason").inner_text(),
            )
            for row in rows.all()
        }
        assert shown == {
            "travel-policy.md": ("added", ""),
            "scan.pdf": ("failed", "corrupt PDF (no %PDF header: not a PDF file)"),
            "big.txt": ("failed", "too large (24.4 KB; the limit is 10.2 KB)"),
            "tool.exe": ("failed", "'.exe' files are not accepted"),
        }
        progress = page.evaluate("[...window.progressLines]")
        assert progress, "the page should show progress before the results"
        expect(page.locator("#upload-files tr.file")).to_have_count(0)  # the box emptied
        expect(page.locator("#docs-collection input")).to_have_value("team-docs")
        expect(page.locator("#collection-documents .doc-file")).to_have_text(["travel-policy.md"])

        copy = uploads.folder / "team-docs" / "travel-policy.md"
        assert [d.source for d in store.documents("team-docs")] == [str(copy)]
        [stored] = store.documents("team-docs")  # login off: the web page, not the CLI
        assert (stored.ingested_by, stored.size) == ("web page (no sign-in)", len(TRAVEL))
        expect(page.locator("#collection-documents td.doc-by")).to_have_text(
            ["web page (no sign-in)"]
        )
        assert copy.read_text() == TRAVEL
        assert sorted(p.name for p in copy.parent.iterdir()) == ["travel-policy.md"]
        assert store.documents() == before, "the other collection is untouched"

        # The chat can ask the new collection: its panel follows the choice.
        page.get_by_role("tab", name="Chat").click()
        page.locator("#chat-collection input").click()
        page.get_by_role("option", name="team-docs").click()
        expect(page.locator("#documents .doc-file")).to_have_text(["travel-policy.md"])

        page.get_by_role("tab", name="Documents").click()
        page.locator("#delete-select input").click()
        page.get_by_role("option", name="travel-policy.md").click()
        page.locator("#delete").click()
        expect(page.locator("#confirm-text")).to_contain_text("Delete 1 document(s)")
        page.locator("#confirm-delete").click()
        expect(page.locator("#delete-message")).to_have_text(
            "Deleted 1 document(s) from 'team-docs': travel-policy.md."
        )
        expect(page.locator("#collection-documents .docs-empty")).to_be_visible()
        page.screenshot(path="/tmp/ui-upload-deleted.png", full_page=True)

    assert store.documents("team-docs") == [] and not copy.exists()
    assert store.documents() == before
    temp = Path(get_upload_folder())  # Gradio's copies of the uploads: deleted once handled
    left = [p for p in temp.rglob("*") if p.name in files and p.stat().st_mtime >= started]
    assert left == []

    assert requests
    for url in requests:
        parts_ = urlparse(url)
        assert parts_.scheme in ("data", "blob") or parts_.hostname in ("127.0.0.1", "localhost"), (
            f"the page fetched {url}: everything must come from this machine"
        )


@pytest.mark.slow
def test_api_asks_the_default_collection_unless_told_otherwise(parts, uploads, server, tmp_path):
    from gradio_client import Client

    _upload(uploads, "team-docs", _files(tmp_path / "in")["travel-policy.md"])
    client = Client(server, verbose=False)
    default = client.predict(QUESTION, api_name="/ask")
    assert default["refused"] and default["sources"] == []  # the handbook has no per diem
    chosen = client.predict(QUESTION, "team-docs", api_name="/ask")
    assert chosen["done"] and chosen["error"] is None
    assert [s["file"] for s in chosen["sources"]] == ["travel-policy.md"]
    unknown = client.predict(QUESTION, "no-such", api_name="/ask")
    assert unknown["error"] == "no collection named 'no-such'"
    assert "no-such" not in parts.store.collections()
