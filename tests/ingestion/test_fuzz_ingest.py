"""Fuzzing (issue 12, "Proof"): whatever bytes arrive under whatever name, the loaders,
cleaning and chunking give a result or one clear LoadError: never another exception (a
traceback), never a hang. Each format is fuzzed from a valid file of its own, mutated
(bytes flipped, cut short, spliced), and from plain random bytes."""

from __future__ import annotations

import io
import mailbox
import time
import zipfile
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fuzz import examples
from support.office import pptx_deck, save_odf, save_xlsx
from support.pdfs import text_pdf

from ingest.chunking import chunk_document
from ingest.cleaning import clean
from ingest.loaders import SUPPORTED, Limits, LoadedDocument, LoadError, Section, load

LIMITS = Limits(max_html_depth=256, max_unzipped_bytes=50 << 20)


@cache
def valid(suffix: str) -> bytes:
    """One small valid file per format, the seed the mutations start from."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"seed{suffix}"
        if suffix in (".docx",):
            import docx

            d = docx.Document()
            d.add_heading("Leave", 1)
            d.add_paragraph("Staff get 28 days.")
            d.save(path)
        elif suffix in (".xlsx", ".xlsm"):
            save_xlsx(path, {"Beds": [["Ward", "Beds"], ["A", 12], ["B", 9]]})
        elif suffix == ".pptx":
            pptx_deck(path)
        elif suffix in (".odt", ".ods", ".odp"):
            body = {
                ".odt": '<text:h text:outline-level="1">Leave</text:h><text:p>28 days</text:p>',
                ".ods": '<table:table table:name="T"><table:table-row><table:table-cell>'
                "<text:p>a</text:p></table:table-cell></table:table-row></table:table>",
                ".odp": "<draw:page><draw:frame><draw:text-box><text:p>Hi</text:p>"
                "</draw:text-box></draw:frame></draw:page>",
            }[suffix]
            save_odf(path, body)
        elif suffix == ".mbox":
            box = mailbox.mbox(path)
            box.add(_mail())
            box.flush()
            box.close()
        else:
            path.write_bytes(_simple(suffix))
        return path.read_bytes()


def _mail() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@example.com", "Leave"
    msg.set_content("Staff get 28 days.")
    msg.add_attachment(b"<p>attached</p>", maintype="text", subtype="html", filename="x.html")
    return msg


def _simple(suffix: str) -> bytes:
    if suffix == ".pdf":
        return text_pdf(["Staff get 28 days of leave.", "Second page."])
    if suffix in (".html", ".htm"):
        return b"<title>Leave</title><h1>Leave</h1><div><p>28 <b>days</b></p></div>"
    if suffix in (".csv", ".tsv"):
        return b"Ward,Beds\nA,12\nB,9\n"
    if suffix == ".eml":
        return bytes(_mail())
    if suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        from PIL import Image

        out = io.BytesIO()
        fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(suffix, "PNG")
        Image.new("L", (64, 32), 255).save(out, fmt)
        return out.getvalue()
    if suffix == ".msg":
        return b"\xd0\xcf\x11\xe0" + bytes(100)
    return b"---\ntitle: Leave\n---\n# Leave\n\nStaff get [[leave|28 days]] **each** year.\n"


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        data[at : at + 1] = draw(st.binary(min_size=0, max_size=4))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def check_one(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        doc = load(path, limits=LIMITS)
        chunk_document(doc, chunk_size=200, chunk_overlap=20, collection="c")
    except LoadError as exc:
        reason = str(exc)
        assert reason and "\n" not in reason and len(reason) < 400, reason
    assert time.perf_counter() - started < 60


ZIPS = {".docx", ".xlsx", ".xlsm", ".pptx", ".odt", ".ods", ".odp"}
FAST = sorted(s for s in SUPPORTED if s not in {".png", ".jpg", ".jpeg", ".tif", ".tiff"})


@pytest.mark.parametrize("suffix", FAST)
@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_mutation_of_a_valid_file_is_a_result_or_one_clear_error(tmp_path, suffix, data):
    check_one(tmp_path, suffix, data.draw(mutated(valid(suffix))))


@pytest.mark.parametrize("suffix", sorted(ZIPS))
@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_zip_with_a_damaged_member_is_a_result_or_one_clear_error(tmp_path, suffix, data):
    """Flips inside the compressed parts, with the zip's directory intact (so the parsers
    themselves meet the damage, not just the zip check)."""
    source = zipfile.ZipFile(io.BytesIO(valid(suffix)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info)
            if data.draw(st.booleans()):
                part = data.draw(mutated(part))
            target.writestr(info.filename, part)
    check_one(tmp_path, suffix, out.getvalue())


@pytest.mark.parametrize("suffix", sorted(SUPPORTED))
@settings(
    max_examples=examples(10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(min_size=1, max_size=3000))
def test_random_bytes_under_any_name_are_a_result_or_one_clear_error(tmp_path, suffix, data):
    check_one(tmp_path, suffix, data)


MARKUP = st.sampled_from(['<a class="yt-timestamp" data-t="1:02">x</a>', "[[a|b]]", "# ", "\n"])


@settings(max_examples=examples(200), deadline=None)
@given(text=st.lists(st.text(max_size=50) | MARKUP, max_size=40).map("".join))
def test_any_text_cleans_and_chunks(text):
    cleaned = clean(text)
    assert all(0 <= m.offset <= len(cleaned.text) for m in cleaned.timestamps)
    section = Section(cleaned.text, timestamps=cleaned.timestamps)
    doc = LoadedDocument(Path("/x.md"), "x", "0" * 64, [section])
    chunks = chunk_document(doc, chunk_size=100, chunk_overlap=10, collection="c")
    assert "".join(c.text for c in chunks).replace(" ", "").replace("\n", "") or not (
        cleaned.text.strip()
    )
