"""Email (issue 16.4): .eml and .mbox built here with the stdlib, headers in the citation,
HTML bodies cleaned, attachments handed over as files of their own (their storage as
documents linked to the mail is tested in test_mail_attachments.py)."""

import mailbox
import re
from email.message import EmailMessage

import pytest
from support.mail import nested_mime

from ingest.chunking import chunk_document
from ingest.loaders import LoadError, load


def letter(subject: str, body: str, *, html: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Alice Smith <alice@hospital.example>"
    msg["To"] = "wards@hospital.example"
    msg["Date"] = "Mon, 02 Mar 2026 09:15:00 +0100"
    msg["Subject"] = subject
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def test_an_eml_cites_sender_date_and_subject_and_reads_its_attachments(tmp_path):
    import docx

    msg = letter("Ward closures", "Ward seven closes on Friday for cleaning.")
    report = tmp_path / "plan.docx"
    d = docx.Document()
    d.add_paragraph("Patients move to ward nine during the works.")
    d.save(report)
    msg.add_attachment(
        report.read_bytes(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="plan.docx",
    )
    msg.add_attachment(b"\x00\x01", maintype="application", subtype="x-thing", filename="a.bin")
    path = tmp_path / "closures.eml"
    path.write_bytes(bytes(msg))
    doc = load(path)
    [body] = doc.sections
    assert doc.title == "Ward closures"
    assert body.anchor == "Alice Smith, 2026-03-02: Ward closures"
    assert body.text == "Ward seven closes on Friday for cleaning.\n\nAttachments: plan.docx"
    assert body.metadata["email_from"] == "Alice Smith <alice@hospital.example>"
    assert body.metadata["email_to"] == "wards@hospital.example"
    # The attachment is handed over as a file of its own (the indexer stores it, linked).
    [attached] = doc.attachments
    assert (attached.key, attached.where) == (
        "plan.docx",
        'attachment of "Ward closures" (closures.eml)',
    )
    assert attached.metadata["email_subject"] == "Ward closures"
    assert "ward nine" in load(attached.path).sections[0].text
    attached.close()
    assert not attached.path.exists()
    assert doc.skipped == ["attachment a.bin (unsupported type)"]
    chunks = chunk_document(doc, chunk_size=700, chunk_overlap=0, collection="c")
    assert chunks[0].metadata["email_subject"] == "Ward closures"


def test_an_html_only_mail_is_cleaned_like_an_html_file(tmp_path):
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "bank@example.com", "Statement"
    msg.set_content("<html><style>p{}</style><p>Your balance is <b>12</b> euros.</p>", "html")
    path = tmp_path / "statement.eml"
    path.write_bytes(bytes(msg))
    [section] = load(path).sections
    assert section.text == "Your balance is 12 euros."


def test_an_mbox_is_read_message_by_message(tmp_path):
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(path)
    for i in range(1, 4):
        box.add(letter(f"Shift {i}", f"Night shift number {i} is covered."))
    box.flush()
    box.close()
    doc = load(path)
    assert [s.anchor for s in doc.sections] == [
        f"message {i} · Alice Smith, 2026-03-02: Shift {i}" for i in range(1, 4)
    ]
    assert doc.sections[2].text == "Night shift number 3 is covered."


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("deep.eml", nested_mime(1000), "MIME levels deep"),
        ("outlook.msg", b"\xd0\xcf\x11\xe0" + bytes(600), "Outlook .msg is not supported"),
        ("nothing.eml", b"\n\n just a body line", "not an email"),
        ("random.mbox", b"no From line at all\n" * 10, "no message with text"),
    ],
)
def test_bad_mail_fails_with_one_line(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=re.escape(reason)) as info:
        load(path)
    assert "\n" not in str(info.value)


def test_a_mail_nested_a_few_levels_is_read(tmp_path):
    path = tmp_path / "ok.eml"
    path.write_bytes(nested_mime(5))
    assert load(path).sections[0].text == "hello"
