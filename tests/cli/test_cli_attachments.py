"""`assistant ingest` and `assistant docs` with a mail's attachments (issue 16.4): each is a
document of its own, listed as an attachment of the mail; a bad one is one line."""

from support.cli import run
from support.mail import letter


def test_docs_lists_a_mail_s_attachments_as_documents(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    attached = {"rota.txt": b"Kim works nights in June.\n", "bad.pptx": b"PK\x03\x04 broken" * 9}
    (folder / "june.eml").write_bytes(letter("June rota", "The rota is attached.", attached))
    data = tmp_path / "data"
    ingested = run(["ingest", str(folder)], data, ASSISTANT_AUTO_SEED="false")
    bad = [line for line in ingested.stdout.splitlines() if "bad.pptx" in line]
    assert len(bad) == 1 and 'attachment of "June rota" (june.eml)' in bad[0], ingested.stdout
    assert "Traceback" not in ingested.stdout + ingested.stderr

    listed = run(["docs"], data, ASSISTANT_AUTO_SEED="false")
    assert listed.returncode == 0, listed.stderr
    [rota] = [line for line in listed.stdout.splitlines() if "rota.txt" in line]
    assert rota.endswith('chunks  rota.txt  attachment of "June rota" (june.eml)')
    assert "2 documents" in listed.stdout
