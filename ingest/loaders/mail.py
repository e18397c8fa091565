"""Email: `.eml` files and `.mbox` mailboxes (the stdlib `email` and `mailbox` packages).

Each message's headers (from, to, date, subject) are chunk metadata and its citation:
"Alice Smith, 2026-03-02: Budget". Its body is the text/plain part, else the HTML part
cleaned like an HTML file, then the names of its attachments. Each attachment in a
supported format is spilled to a temporary file and handed to the indexer (the document's
`attachments`), which stores it as a document of its own linked to the mail
(`ingest/attachments.py`); pictures the HTML body shows inline are not attachments. A
mailbox is read one message at a time. Outlook `.msg` is refused: the one maintained
reader, extract-msg, is GPL-licensed (save such mail as .eml).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import mailbox
from collections.abc import Callable, Iterator
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path

from ingest.cleaning import clean
from ingest.loaders.base import (
    Attachment,
    LoadError,
    Meta,
    ReadContext,
    Reader,
    Section,
    os_reason,
    short,
)
from ingest.loaders.html import html_text

MAX_MIME_DEPTH = 50  # real mail nests a few levels; a thousand is an attack
Registry = Callable[[str], Reader | None]


def _header(msg: Message, name: str) -> str:
    try:
        return " ".join(str(msg.get(name, "") or "").split())
    except (ValueError, TypeError, IndexError):  # a malformed encoded word
        return ""


def _headers(msg: Message) -> tuple[str, Meta]:
    sender, to, subject = _header(msg, "From"), _header(msg, "To"), _header(msg, "Subject")
    date = _header(msg, "Date")
    with contextlib.suppress(ValueError, TypeError, IndexError):
        date = parsedate_to_datetime(date).date().isoformat() if date else ""
    who = sender.split("<")[0].strip().strip('"') or sender
    citation = ", ".join(x for x in (who[:60], date) if x) + (
        f": {subject[:80]}" if subject else ""
    )
    meta: Meta = {"email_from": sender, "email_to": to, "email_date": date}
    meta["email_subject"] = subject
    return citation or "mail", meta


def _parts(msg: Message) -> Iterator[Message]:
    """Every leaf part, walked without recursion, with a limit on nesting."""
    stack = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > MAX_MIME_DEPTH:
            raise LoadError(f"email nested over {MAX_MIME_DEPTH} MIME levels deep (hostile)")
        if part.is_multipart():
            children = part.get_payload()
            parts = (
                [c for c in children if isinstance(c, Message)]
                if isinstance(children, list)
                else []
            )
            stack.extend((child, depth + 1) for child in reversed(parts))
        else:
            yield part


def _payload_bytes(part: Message) -> bytes:
    """A leaf part's body, transfer-decoded (a multipart part has none)."""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _decoded(part: Message) -> str:
    payload = _payload_bytes(part)
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _message_sections(
    msg: Message, mail: _Mail, ctx: ReadContext, readers: Registry
) -> Iterator[Section]:
    citation, meta = _headers(msg)
    anchor = f"{mail.prefix} · {citation}" if mail.prefix else citation
    plain, html, attachments = [], [], []
    for part in _parts(msg):
        name = part.get_filename()
        inline = part.get_content_disposition() != "attachment"
        if part.get("Content-ID") and inline and part.get_content_maintype() == "image":
            continue  # a picture the HTML body shows (a signature's logo), not an attachment
        if name or not inline:
            attachments.append((name or "attachment", part))
        elif part.get_content_type() == "text/plain":
            plain.append(_decoded(part))
        elif part.get_content_type() == "text/html":
            html.append(_decoded(part))
    body = "\n\n".join(plain).strip()
    if not body and html:
        body = "\n\n".join(html_text(h, ctx.limits.max_html_depth)[0] for h in html)
    text = clean(body, front_matter=False).text.strip()
    names = [_spill(name, part, mail, meta, ctx, readers) for name, part in attachments]
    listed = ", ".join(n for n in names if n)
    text = f"{text}\n\nAttachments: {listed}".strip() if listed else text
    if text:
        yield Section(text, anchor, metadata=dict(meta))


class _Mail:
    """Where a message sits (its file, its number in a mailbox) and the attachment names
    already used in it, so each attachment gets its own key."""

    def __init__(self, path: Path, number: int | None = None) -> None:
        self.file = path.name
        self.prefix = f"message {number}" if number else ""
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        stem, suffix, n = Path(name).stem, Path(name).suffix, 1
        while name.lower() in self.used:
            n += 1
            name = f"{stem} ({n}){suffix}"
        self.used.add(name.lower())
        return f"{self.prefix}/{name}" if self.prefix else name


def _spill(
    name: str, part: Message, mail: _Mail, meta: Meta, ctx: ReadContext, readers: Registry
) -> str | None:
    """Write an attachment in a supported format to a temporary file, for the indexer to
    store as a document of its own; returns its name, or None when it is left out (named
    in the mail's result)."""
    safe = Path(name).name.replace("/", "_") or "attachment"
    if readers(Path(safe).suffix.lower()) is None:
        ctx.skipped.append(f"attachment {safe} (unsupported type)")
        return None
    data = _payload_bytes(part)
    if len(data) > ctx.limits.max_bytes or not data:
        ctx.skipped.append(f"attachment {safe} ({'too large' if data else 'empty'})")
        return None
    subject = str(meta.get("email_subject", ""))
    place = f"{mail.file}, {mail.prefix}" if mail.prefix else mail.file
    where = f'attachment of "{subject[:80]}" ({place})' if subject else f"attachment of {place}"
    attachment = Attachment(mail.key(safe), where, dict(meta))
    try:
        attachment.path.write_bytes(data)
    except OSError as exc:
        attachment.close()
        ctx.skipped.append(f"attachment {safe} ({os_reason(exc)})")
        return None
    ctx.attachments.append(attachment)
    return Path(attachment.key).name


def read_eml(
    path: Path, ctx: ReadContext, readers: Registry
) -> tuple[str | None, Iterator[Section]]:
    try:
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
    except RecursionError as exc:
        raise LoadError(f"email nested over {MAX_MIME_DEPTH} MIME levels deep (hostile)") from exc
    except OSError as exc:
        raise LoadError(os_reason(exc)) from exc
    if not msg.keys():
        raise LoadError("not an email (no headers)")
    subject = _header(msg, "Subject") or None

    def sections() -> Iterator[Section]:
        found = False
        for section in _message_sections(msg, _Mail(path), ctx, readers):
            found = True
            yield section
        if not found:
            raise LoadError("no text in the mail")

    return subject, sections()


def read_mbox(
    path: Path, ctx: ReadContext, readers: Registry
) -> tuple[str | None, Iterator[Section]]:
    def sections() -> Iterator[Section]:
        found = False
        box = mailbox.mbox(path, factory=None, create=False)
        try:
            for number, key in enumerate(box.iterkeys(), start=1):
                try:
                    msg = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
                except RecursionError:
                    ctx.skipped.append(f"message {number} (MIME nested too deeply)")
                    continue
                try:
                    mail = _Mail(path, number)
                    for section in _message_sections(msg, mail, ctx, readers):
                        found = True
                        yield section
                except LoadError as exc:
                    ctx.skipped.append(f"message {number} ({exc})")
        except (OSError, mailbox.Error, ValueError) as exc:
            raise LoadError(f"corrupt mailbox ({short(exc)})") from exc
        finally:
            box.close()
        if not found:
            raise LoadError("no message with text (not an mbox mailbox?)")

    return None, sections()


def read_msg(path: Path, ctx: ReadContext) -> tuple[str | None, Iterator[Section]]:
    raise LoadError(
        "Outlook .msg is not supported (its one maintained reader is GPL-licensed):"
        " save the mail as .eml"
    )
