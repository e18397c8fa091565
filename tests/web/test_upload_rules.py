"""Upload rules without a server: long names stage, a delete never touches a file the
store did not hold."""

from __future__ import annotations

from pathlib import Path

from assistant.factory import Components
from assistant.uploads import Item, Uploads, delete_documents, name_problem, settle, stage


def test_a_255_byte_name_stages_and_settles(tmp_path: Path):
    name = "é" * 126 + ".md"  # 255 bytes in UTF-8
    assert len(name.encode()) == 255 and name_problem(name) is None
    upload = tmp_path / "gradio" / "upload.md"
    upload.parent.mkdir()
    upload.write_text("# New\n")
    folder = tmp_path / "uploads" / "documents"
    folder.mkdir(parents=True)
    (folder / name).write_text("# Old\n")  # a replacement: the old copy is set aside
    items = [Item(name, upload)]
    stage(items, folder)
    assert items[0].dest == folder / name and items[0].status == "queued", items[0].reason
    items[0].status = "updated"
    settle(items)
    assert (folder / name).read_text() == "# New\n"
    assert sorted(p.name for p in folder.iterdir()) == [name]  # no .part or .previous left


def test_deleting_never_removes_a_file_the_store_did_not_hold(fresh: Components):
    uploads = Uploads.from_settings(fresh.settings, ingest=None)  # type: ignore[arg-type]
    folder = uploads.folder / "documents"
    folder.mkdir(parents=True)
    stray = folder / "not-indexed.md"
    stray.write_text("# Someone's copy\n")
    removed = delete_documents(fresh.store, uploads, [str(stray)], "documents")
    assert removed == 0 and stray.exists()


def test_deleting_an_uploaded_mail_s_attachment_keeps_the_mail(fresh: Components):
    from support.mail import letter

    from ingest.indexer import ingest_paths

    uploads = Uploads.from_settings(fresh.settings, ingest=None)  # type: ignore[arg-type]
    folder = uploads.folder / "documents"
    folder.mkdir(parents=True)
    mail = folder / "june.eml"
    mail.write_bytes(letter("June rota", "Attached.", {"rota.txt": b"Kim works nights.\n"}))
    s = fresh.settings
    ingest_paths([mail], fresh.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap)
    assert delete_documents(fresh.store, uploads, [f"{mail}/rota.txt"], "documents") == 1
    assert mail.exists() and [d.source for d in fresh.store.documents()] == [str(mail)]
    assert delete_documents(fresh.store, uploads, [str(mail)], "documents") == 1
    assert not mail.exists() and fresh.store.documents() == []
