"""How a checkable answer looks on the page: the supporting sentence marked in its
snippet, each source linked to the viewer at its place, unsupported sentences marked
with their reason; everything from documents and the model escaped."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from assistant.answering import Answer, Source
from assistant.claims import Claim
from assistant.evidence import Evidence
from ui import render
from ui.checkable import viewer_url

EVIDENCE = Evidence("LLaMA 2 (July 2023)", 10, 29, 0.9, True)
SOURCE = Source(
    1,
    "/s/001.txt",
    "t",
    "line 9",
    "…Feb 2023) LLaMA 2 (July 2023) Meta embraced <b>the</b> community…",
    0.8,
    "c-9",
    cited=True,
    collection="documents",
    evidence=(EVIDENCE,),
)


def test_each_source_links_to_the_viewer_at_its_chunk_and_sentence():
    url = urlparse(viewer_url(SOURCE))
    assert url.path == "/view" and url.fragment == "evidence"
    assert parse_qs(url.query) == {
        "collection": ["documents"],
        "source": ["/s/001.txt"],
        "chunk": ["c-9"],
        "start": ["10"],
        "end": ["29"],
    }
    old = Source(1, "/s/001.txt", "t", "line 9", "s", 0.8, "c-9")  # no collection recorded
    assert viewer_url(old) == ""


def test_the_supporting_sentence_is_marked_inside_the_escaped_snippet():
    html = render.sources_html([SOURCE], final=True)
    assert '<mark class="evidence"' in html and ">LLaMA 2 (July 2023)</mark>" in html
    assert "&lt;b&gt;the&lt;/b&gt;" in html and "<b>" not in html
    assert 'class="src-open" href="/view?collection=documents&amp;source=' in html
    # History stores evidence as dicts; the page renders it all the same.
    stored = Source(**{**SOURCE.__dict__, "evidence": [EVIDENCE.__dict__]})
    assert ">LLaMA 2 (July 2023)</mark>" in render.sources_html([stored], final=True)


def test_unsupported_sentences_are_marked_with_their_reason_and_counted():
    text = "Llama 2 came out in July 2023 [1]. The LLaMA 5 <img src=x> was released in 2027."
    start = text.index("The LLaMA 5")
    claim = Claim(text[start:], start, len(text), ["2027 is not in the sources"])
    answer = Answer("When?", text, [SOURCE], False, "m", unsupported=[claim])
    html = render.chat_message(text, [SOURCE], final=answer)
    assert '<mark class="claim-unsupported" title="2027 is not in the sources">' in html
    assert (
        '<span class="claim-reason" role="note">⚠ not supported: 2027 is not in the sources' in html
    )
    assert "<img" not in html and "&lt;img" in html  # the model's text stays inert
    assert "1 sentence of this answer is not supported" in html
    assert html.index("claim-unsupported") > html.index('July 2023 <a class="cite"')


def test_a_declined_answer_shows_the_closest_passages():
    answer = Answer("Price?", "The documents don't cover this", [SOURCE], True, "m")
    html = render.chat_message(answer.text, [SOURCE], final=answer)
    assert "Closest passages · none of them answers the question" in html
