"""Mail made by the tests."""


def nested_mime(levels: int) -> bytes:
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(levels)
    )
    tail = "".join(f"\n--b{i}--\n" for i in reversed(range(levels)))
    return f"From: x@example.com\nSubject: deep\nMIME-Version: 1.0\n{head}\nhello{tail}".encode()


def letter(subject: str, body: str, attachments: dict[str, bytes] | None = None) -> bytes:
    """A plain-text mail from Alice with the given attachments (name: bytes)."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Alice Smith <alice@hospital.example>"
    msg["To"] = "board@hospital.example"
    msg["Date"] = "Mon, 02 Mar 2026 09:15:00 +0100"
    msg["Subject"] = subject
    msg.set_content(body)
    for name, data in (attachments or {}).items():
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return bytes(msg)
