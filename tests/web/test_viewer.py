"""The source one click away, and feedback, over a real server with login on: each route
runs behind the gate and the same read check as the rest of the API, so a document of a
collection someone may not read is a 404 exactly like a missing one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from support.pdfs import text_pdf
from support.server import SECRET, Server, build_world, serving_world

from assistant.cli.wiring import index_files

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:::gradio.queueing")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    parts, directory, hr_source = build_world(tmp_path_factory.mktemp("world") / "data")
    pdf = tmp_path_factory.mktemp("pdf") / "handbook.pdf"
    pdf.write_bytes(text_pdf(["Welcome to the handbook.", "Leave is 30 days a year."]))
    index_files(parts, [pdf], collection="hr-files")
    with serving_world(parts, directory, hr_source) as server:
        yield server


def _chunk(server: Server, collection: str, source: str, needle: str) -> tuple[str, int, int]:
    for c in server.parts.store.chunks(collection):
        if c.metadata["source"] == source and needle in c.text:
            at = c.text.index(needle)
            return c.id, at, at + len(needle)
    raise AssertionError(f"no chunk of {source} holds {needle!r}")


def test_a_document_of_a_collection_one_may_not_read_is_a_404_like_a_missing_one(server):
    alice = server.client("alice")  # staff: reads `documents` only
    for path in ("/view", "/view/file"):
        hidden = alice.get(path, params={"collection": "hr-files", "source": server.hr_source})
        missing = alice.get(path, params={"collection": "nope", "source": server.hr_source})
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["detail"] == "no collection named 'hr-files'"
        assert missing.json()["detail"] == "no collection named 'nope'"
        assert SECRET not in hidden.text
    unknown = alice.get("/view", params={"collection": "documents", "source": "/etc/passwd"})
    assert unknown.status_code == 404
    assert server.client().get("/view", params={"collection": "documents"}).status_code == 401


def test_the_viewer_shows_the_document_scrolled_to_the_marked_sentence(server):
    sentence = f"The payroll approval code word is {SECRET}."
    chunk, start, end = _chunk(server, "hr-files", server.hr_source, sentence)
    page = server.client("bob").get(
        "/view",
        params={
            "collection": "hr-files",
            "source": server.hr_source,
            "chunk": chunk,
            "start": start,
            "end": end,
        },
    )
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    marked = re.search(r'<mark id="evidence">(.*?)</mark>', page.text)
    assert marked and marked.group(1) == sentence
    assert 'id="cited"' in page.text and "Bonuses are paid in March." in page.text
    assert not re.search(r"(src|href)=\"?https?:", page.text), "nothing loads from elsewhere"


def test_a_pdf_opens_in_the_browsers_viewer_at_its_page(server):
    source = next(
        d.source
        for d in server.parts.store.documents("hr-files")
        if d.source.endswith("handbook.pdf")
    )
    chunk, _, _ = _chunk(server, "hr-files", source, "Leave is 30 days")
    bob = server.client("bob")
    r = bob.get("/view", params={"collection": "hr-files", "source": source, "chunk": chunk})
    assert r.status_code == 303
    target = r.headers["location"]
    assert target.startswith("/view/file?") and target.endswith("#page=2")
    pdf = bob.get(target.split("#")[0])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline")
    assert pdf.content.startswith(b"%PDF")


def test_api_answers_carry_evidence_offsets_and_the_unsupported_list(server):
    alice = server.client("alice")
    r = alice.post("/api/ask", json={"question": "When was Llama 2 released?"})
    done = [json.loads(x) for x in r.text.splitlines()][-1]
    assert done["type"] == "done", done
    assert isinstance(done["unsupported"], list)
    chunks = {c.id: c.text for c in server.parts.store.chunks("documents")}
    assert done["sources"] and all(s["evidence"] for s in done["sources"])
    for s in done["sources"]:
        for e in s["evidence"]:
            assert chunks[s["chunk_id"]][e["start"] : e["end"]] == e["text"]
    top = max((e for s in done["sources"] for e in s["evidence"]), key=lambda e: e["score"])
    assert "July 2023" in top["text"]

    reply = alice.post(
        "/v1/chat/completions",
        json={
            "model": "default",
            "messages": [{"role": "user", "content": "When was Llama 2 released?"}],
        },
    ).json()
    assert "unsupported" in reply and reply["sources"][0]["evidence"]


def test_feedback_is_stored_per_user_and_admins_see_all(server):
    body = {
        "vote": "down",
        "question": "When was Llama 2 released?",
        "answer": "April 2025",
        "comment": "wrong year",
        "collection": "documents",
    }
    given = server.client("alice").post("/api/feedback", json=body)
    assert given.status_code == 200, given.text
    assert given.json()["user"] == "alice"
    assert (
        server.client("bob").post("/api/feedback", json={**body, "vote": "up"}).status_code == 200
    )
    mine = server.client("alice").get("/api/feedback").json()
    assert {f["user"] for f in mine} == {"alice"}
    everyone = server.client("admin").get("/api/feedback", params={"vote": "down"}).json()
    assert [f["user"] for f in everyone] == ["alice"]
    assert (
        server.client("alice").post("/api/feedback", json={**body, "vote": "meh"}).status_code
        == 422
    )
    assert server.client().post("/api/feedback", json=body).status_code == 401
