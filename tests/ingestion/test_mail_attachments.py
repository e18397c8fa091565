"""A mail's attachments are documents of their own, linked to the mail (issue 16.4): cited
as 'attachment of "<subject>" (<mail file>)', removed and replaced with the mail, and a
bad attachment is one line while the mail and its good attachments are indexed."""

import mailbox
import signal
from email import message_from_bytes
from pathlib import Path

import pytest
from support.crash import check_consistent, policy_text
from support.crash import ingest as ingest_cli
from support.embedder import Recording
from support.mail import letter
from support.office import save_xlsx
from support.paths import make_settings
from support.pdfs import text_pdf

from assistant.factory import Components
from ingest.indexer import ingest_paths

SUBJECT = "Quarterly budget"
WHERE = f'attachment of "{SUBJECT}" (q3.eml)'
CAFETERIA = "The cafeteria renovation costs 48,000 euros and ends in May."


def attachments(tmp_path: Path) -> dict[str, bytes]:
    sheet = save_xlsx(tmp_path / "staff.xlsx", {"Staff": [["Ward", "Nurses"], ["North", 12]]})
    return {
        "budget.pdf": text_pdf([CAFETERIA]),
        "staff.xlsx": sheet.read_bytes(),
        "broken.docx": b"PK\x03\x04 not really a docx" * 20,
        "logo.bin": b"\x00\x01",
    }


def ingest(components, *paths: Path, **options):
    s = components.settings
    return ingest_paths(
        list(paths), components.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap,
        **options,
    )  # fmt: skip


def by_source(report) -> dict[str, tuple[str, str]]:
    return {r.path: (r.status, r.reason) for r in report.results}


def test_each_attachment_is_a_document_cited_with_its_mail(fresh, tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    mail = folder / "q3.eml"
    mail.write_bytes(letter(SUBJECT, "The board met on Tuesday.", attachments(tmp_path)))
    results = by_source(ingest(fresh, folder))

    assert results[str(mail)][0] == "added"
    assert "attachment logo.bin (unsupported type)" in results[str(mail)][1]
    assert results[f"{mail}/budget.pdf"][0] == results[f"{mail}/staff.xlsx"][0] == "added"
    status, reason = results[f"{mail}/broken.docx"]  # one line, naming the mail and the file
    assert status == "failed" and reason.startswith(f"{WHERE}: ") and "\n" not in reason
    docs = {d.source: d.title for d in fresh.store.documents()}
    assert docs[f"{mail}/budget.pdf"] == WHERE and set(docs) == {
        str(mail),
        f"{mail}/budget.pdf",
        f"{mail}/staff.xlsx",
    }

    hit = fresh.retriever.retrieve("How much does the cafeteria renovation cost?").hits[0]
    meta = hit.chunk.metadata
    assert (meta["source"], meta["anchor"]) == (f"{mail}/budget.pdf", f"{WHERE} · page 1")
    assert meta["parent_source"] == str(mail) and meta["email_subject"] == SUBJECT
    [body] = [c for c in fresh.store.chunks() if c.metadata["source"] == str(mail)]
    assert body.text.endswith("Attachments: budget.pdf, staff.xlsx, broken.docx")


def test_a_resync_replaces_the_attachments_with_the_mail(fresh, tmp_path):
    mail = tmp_path / "q3.eml"
    mail.write_bytes(letter(SUBJECT, "First draft.", {"budget.pdf": text_pdf([CAFETERIA])}))
    ingest(fresh, mail)
    again = ingest(fresh, mail, prune=True)  # an unchanged mail keeps its attachment
    assert {r.status for r in again.results} == {"unchanged"}

    mail.write_bytes(letter(SUBJECT, "Second draft, the PDF is gone.", {"a.txt": b"Roof."}))
    results = by_source(ingest(fresh, mail))
    assert results[f"{mail}/budget.pdf"] == ("removed", "no longer attached")
    assert results[f"{mail}/a.txt"][0] == "added" and results[str(mail)][0] == "updated"
    sources = {str(c.metadata["source"]) for c in fresh.store.chunks()}
    assert sources == {str(mail), f"{mail}/a.txt"}
    hits = fresh.retriever.retrieve("How much does the cafeteria renovation cost?").hits
    assert all("cafeteria" not in h.chunk.text for h in hits)


def test_removing_the_mail_removes_its_attachments(fresh, tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    for name in ("a.eml", "b.eml"):
        (folder / name).write_bytes(letter(name, "Hello.", {"note.txt": f"In {name}.".encode()}))
    ingest(fresh, folder, prune=True)
    assert len(fresh.store.documents()) == 4

    (folder / "a.eml").unlink()  # a sync of the folder: the mail and its attachment go
    results = by_source(ingest(fresh, folder, prune=True))
    assert results[str(folder / "a.eml")][0] == results[f"{folder}/a.eml/note.txt"][0] == "removed"
    fresh.store.remove([str(folder / "b.eml")])  # `assistant docs rm`, the web's delete
    assert fresh.store.documents() == [] and list(fresh.store.chunks()) == []


def test_a_renamed_mail_takes_its_attachments_along(fresh, tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "q3.eml").write_bytes(letter(SUBJECT, "Hello.", {"note.txt": b"Roof repairs."}))
    ingest(fresh, folder, prune=True)
    (folder / "q3.eml").rename(folder / "q4.eml")
    ingest(fresh, folder, prune=True)
    docs = {d.source: d.title for d in fresh.store.documents()}
    note = f"{folder}/q4.eml/note.txt"
    assert docs == {str(folder / "q4.eml"): SUBJECT, note: f'attachment of "{SUBJECT}" (q4.eml)'}


def test_an_mbox_message_s_attachment_names_the_message(fresh, tmp_path):
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(path)
    box.add(message_from_bytes(letter("Shift 1", "Night shift one.")))
    box.add(message_from_bytes(letter("Shift 2", "Night shift two.", {"rota.txt": b"Bob."})))
    box.flush()
    box.close()
    results = by_source(ingest(fresh, path))
    assert results[f"{path}/message 2/rota.txt"][0] == "added"
    docs = {d.source: d.title for d in fresh.store.documents()}
    assert docs[f"{path}/message 2/rota.txt"] == 'attachment of "Shift 2" (inbox.mbox, message 2)'


def test_a_mail_attached_to_a_mail_keeps_its_own_attachment(fresh, tmp_path):
    inner = letter("Forwarded", "See the plan.", {"plan.txt": b"Move ward nine in June."})
    mail = tmp_path / "fw.eml"
    mail.write_bytes(letter("Fw: plan", "Forwarding.", {"original.eml": inner}))
    results = by_source(ingest(fresh, mail))
    nested = f"{mail}/original.eml/plan.txt"
    assert results[nested][0] == "added"
    assert {d.source: d.title for d in fresh.store.documents()}[nested] == (
        'attachment of "Forwarded" (original.eml)'
    )
    fresh.store.remove([str(mail)])
    assert fresh.store.documents() == []


@pytest.mark.slow
@pytest.mark.parametrize("crash", ["batch:2", "flip:1", "flip:2", "remove-intent", "remove-flip"])
def test_a_killed_resync_of_a_mail_leaves_whole_documents_and_no_orphan(tmp_path, crash):
    """A mail's new version changes one attachment, drops one and adds one; a kill at any
    step leaves each document whole (old or new), and the next run completes the sync."""
    data, files, temp = tmp_path / "data", tmp_path / "files", tmp_path / "tmp"
    files.mkdir()
    temp.mkdir()  # the runs' temp dir, where the attachments are spilled
    mail = files / "policies.eml"
    old = {"leave.md": policy_text("leave", 1), "travel.md": policy_text("travel", 1)}
    mail.write_bytes(letter("Policies", "Both attached.", {k: v.encode() for k, v in old.items()}))
    assert ingest_cli(data, str(files), TMPDIR=str(temp)).returncode == 0
    assert list(temp.iterdir()) == []
    new = {"leave.md": policy_text("leave", 2, paragraphs=8), "remote.md": policy_text("remote", 1)}
    mail.write_bytes(letter("Policies", "Updated.", {k: v.encode() for k, v in new.items()}))

    killed = ingest_cli(
        data, "--prune", str(files), ASSISTANT_TEST_CRASH_AFTER=crash, TMPDIR=str(temp)
    )
    assert killed.returncode == -signal.SIGKILL, (crash, killed.stdout, killed.stderr)
    check_consistent(data)
    if crash == "flip:1":  # killed with the attachments spilled: their copies are left
        assert len(list(temp.glob("assistant-attached-*"))) == 2

    assert ingest_cli(data, "--prune", str(files), TMPDIR=str(temp)).returncode == 0
    check_consistent(data)
    assert list(temp.iterdir()) == []  # the next run removed them
    store = Components(make_settings(data)).store
    docs = {d.source for d in store.documents()}
    assert docs == {str(mail), f"{mail}/leave.md", f"{mail}/remote.md"}
    leave = [c.text for c in store.chunks() if c.metadata["source"] == f"{mail}/leave.md"]
    assert any("v2" in t for t in leave) and not any("v1" in t for t in leave)
    rerun = ingest_cli(data, "--prune", "--json", str(files))
    assert '"unchanged": 1' in rerun.stdout and '"removed": 0' in rerun.stdout


def test_a_renamed_or_edited_mail_embeds_only_what_changed(fresh, tmp_path, monkeypatch):
    """A renamed mail is read again (its attachments' titles name the file) but embeds
    nothing; an edited one embeds its new body, not its unchanged attachments."""
    folder = tmp_path / "mail"
    folder.mkdir()
    pdf = text_pdf([CAFETERIA])
    (folder / "q3.eml").write_bytes(letter(SUBJECT, "First draft.", {"budget.pdf": pdf}))
    ingest(fresh, folder, prune=True)
    recording = Recording(fresh.store.embedder)
    monkeypatch.setattr(fresh.store, "embedder", recording)

    (folder / "q3.eml").rename(folder / "q4.eml")
    results = by_source(ingest(fresh, folder, prune=True))
    assert recording.texts == []
    mail, attached = str(folder / "q4.eml"), f"{folder}/q4.eml/budget.pdf"
    assert results[mail] == ("added", f"renamed from {folder / 'q3.eml'}; nothing re-embedded")
    assert results[attached] == ("added", "nothing re-embedded")
    assert results[str(folder / "q3.eml")][0] == "removed"
    titles = {d.source: d.title for d in fresh.store.documents()}
    assert titles[attached] == f'attachment of "{SUBJECT}" (q4.eml)'

    (folder / "q4.eml").write_bytes(letter(SUBJECT, "Second draft.", {"budget.pdf": pdf}))
    results = by_source(ingest(fresh, folder, prune=True))
    assert results[mail][0] == "updated" and results[attached] == ("updated", "nothing re-embedded")
    assert len(recording.texts) == 1 and "Second draft." in recording.texts[0]
    hit = fresh.retriever.retrieve("How much does the cafeteria renovation cost?").hits[0]
    assert hit.chunk.metadata["source"] == attached
