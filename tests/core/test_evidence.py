"""Supporting sentences and the claim check, on the seed corpus's own text with the
shipped embedder (no model download, no chat model)."""

from __future__ import annotations

import itertools

import pytest
from support.paths import SEEDS

from assistant.claims import ClaimChecker
from assistant.embeddings.onnx import OnnxMiniLM
from assistant.evidence import EvidenceFinder, sentence_spans, snippet_around, supported
from assistant.quoting import best_quotes, quote_text, resolve_style

LLAMA = (SEEDS / "001_5fec047b8f95376e.txt").read_text(encoding="utf-8")
GAMBLE = (SEEDS / "004_9034c93824e74505.txt").read_text(encoding="utf-8")


def _passage(text: str, marker: str, size: int = 700) -> str:
    """A chunk-sized piece of a seed around `marker`, as retrieval would give it."""
    at = text.index(marker)
    return text[max(0, at - size // 2) : at + size // 2]


TIMELINE = _passage(LLAMA, "LLaMA 2 (July 2023)")
OPEN = _passage(GAMBLE, "LLaMA 2 would be fully open")
INSTAGRAM = [
    _passage(LLAMA, "integrating it into Meta Ray-Ban glasses and Instagram"),
    _passage(GAMBLE, "integrated across 3 billion users on Facebook, Instagram"),
    _passage(LLAMA, "platforms where people use the AI—Instagram"),
]


@pytest.fixture(scope="module")
def embedder() -> OnnxMiniLM:
    return OnnxMiniLM()


def test_sentences_split_at_full_stops_and_line_ends_with_exact_offsets():
    text = "LLaMA 2 (July 2023)\nMeta embraced the community. It was released  openly!\nOk."
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "LLaMA 2 (July 2023)",
        "Meta embraced the community.",
        "It was released  openly!",
    ]  # "Ok." is too short to be evidence


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When was Llama 2 released?", "July 2023"),
        ("Under what licence was Llama 2 released?", "commercially permissive license"),
    ],
)
def test_the_sentence_that_answers_is_found_and_its_offsets_point_at_it(
    embedder, question, expected
):
    found = EvidenceFinder(embedder).find(question, [TIMELINE, OPEN])
    top = best_quotes(found, limit=1)[0]
    assert expected in top[1].text
    number, evidence = top
    source = [TIMELINE, OPEN][number - 1]
    assert source[evidence.start : evidence.end] == evidence.text
    assert supported(found)


def test_a_near_topic_question_the_passages_do_not_answer_is_not_supported(embedder):
    finder = EvidenceFinder(embedder)
    found = finder.find("How much did Meta pay to acquire Instagram?", INSTAGRAM)
    assert any(found), "the passages have sentences; none of them holds a price"
    assert not supported(found)
    # The same passages do support a question they answer.
    answered = finder.find("How many users is Meta AI integrated across?", INSTAGRAM)
    assert supported(answered)


def test_a_sentence_in_the_past_tense_supports_a_question_in_the_present(embedder):
    """ "Who leads it?" is answered by "Led by Yann LeCun": an irregular past form meets its
    verb (before, this seed question was declined as unanswered)."""
    passage = _passage(LLAMA, "FAIR (Fundamental AI Research)")
    found = EvidenceFinder(embedder).find("What is FAIR and who leads it?", [passage])
    assert supported(found)
    assert "Led by Yann LeCun" in found[0][0].text
    spans = sorted((e.start, e.end) for e in found[0])
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), "a sentence quoted twice"


@pytest.mark.parametrize(
    "question", ["Who is in charge of FAIR?", "Who heads FAIR?", "Who runs FAIR?"]
)
def test_other_ways_of_asking_who_leads_meet_led_by(embedder, question):
    """ "In charge of", "heads" and "runs" are answered by "Led by Yann LeCun" (before, the
    first was declined: no sentence held "charge")."""
    passage = _passage(LLAMA, "FAIR (Fundamental AI Research)")
    found = EvidenceFinder(embedder).find(question, [passage])
    assert supported(found)
    assert "Led by Yann LeCun" in found[0][0].text


FAIR_HIRED = _passage(GAMBLE, "to run a new research lab called")


def test_a_who_question_needs_a_name_the_question_does_not_already_say(embedder):
    finder = EvidenceFinder(embedder)
    # "The Reality Labs division was burning $10-15 billion ...": capitalised words, and
    # every one of them is in the question.
    at = GAMBLE.index("The Reality Labs division was burning")
    sentence = GAMBLE[at : GAMBLE.index("buying.", at) + len("buying.")]
    assert not supported(finder.find("Who leads Reality Labs?", [sentence]))
    # A name is a whole word: "LeCun" is the question's own, not a new "Le".
    hired = "Yann LeCun was hired in December 2013 to run the new research lab."
    assert not supported(finder.find("Who hired Yann LeCun?", [hired]))
    assert supported(finder.find("Who hired Yann LeCun?", [hired + " In 2013 Facebook hired him."]))
    # Two sentences, the second starting with a capital, name nobody either.
    pair = "He was an academic and a purist. Under his leadership, FAIR became remarkable."
    assert not supported(finder.find("Who is in charge of FAIR?", [pair]))
    assert supported(finder.find("Who is in charge of FAIR?", [pair + " Yann LeCun led it."]))


def test_a_passage_that_names_nothing_the_question_names_answers_nothing(embedder):
    """ "Hired Yann LeCun to run a new research lab called FAIR" holds a name, "run" and
    "lab", but not Reality Labs."""
    finder = EvidenceFinder(embedder)
    assert not supported(finder.find("Who runs Reality Labs?", [FAIR_HIRED]))
    assert supported(finder.find("Who runs FAIR?", [FAIR_HIRED]))


def test_the_snippet_shown_holds_the_supporting_sentence(embedder):
    long_text = "Filler sentence number one is here. " * 30 + TIMELINE
    found = EvidenceFinder(embedder).find("When was Llama 2 released?", [long_text])
    snippet = snippet_around(long_text, found[0][0])
    assert snippet.startswith("…") and len(snippet) <= 302
    assert " ".join(found[0][0].text.split()) in snippet


def test_quoted_answers_cite_each_quote_and_styles_resolve_per_model(embedder):
    found = EvidenceFinder(embedder).find("When was Llama 2 released?", [OPEN, TIMELINE])
    text = quote_text(found)
    assert "[2]" in text and "July 2023" in text
    assert quote_text([[], []]) == ""
    assert resolve_style("auto", packaged_model=False) == "generated"
    assert resolve_style("quoted", packaged_model=False) == "quoted"


# The two answers the issue reports, given by the packaged model over these sources.
FABRICATED_DATE = (
    "Llama 2 was released in April 2025 [1]. The LLaMA 5 was released in October 2027."
)
FABRICATED_LICENCE = (
    "Llama 2 was released under the Creative Commons Attribution (CC BY-NC) 4.0 license."
)


def test_both_fabricated_claims_of_the_issue_are_marked_with_their_reason(embedder):
    check = ClaimChecker(embedder).check
    claims = check("When was Llama 2 released?", FABRICATED_DATE, [TIMELINE, OPEN])
    reasons = [r for c in claims for r in c.reasons]
    assert len(claims) == 2, claims
    assert "April 2025 is not in the sources" in reasons
    assert "October 2027 is not in the sources" in reasons
    for c in claims:
        assert FABRICATED_DATE[c.start : c.end] == c.text
    claims = check("Under what licence?", FABRICATED_LICENCE, [TIMELINE, OPEN])
    assert len(claims) == 1
    assert any("4.0" in r or "Commons" in r for r in claims[0].reasons), claims


def test_right_answers_and_refusals_are_not_marked(embedder):
    check = ClaimChecker(embedder).check
    right = [
        "LLaMA 2 was released in July 2023 [1].",
        "LLaMA 2 was released with a commercially permissive license [1].",
        "Meta embraced the community and LLaMA 2 became the default standard for startups.",
        "The documents do not cover the price of Instagram.",
    ]
    for answer in right:
        assert check("When was Llama 2 released?", answer, [TIMELINE, OPEN]) == [], answer


def test_a_citation_to_a_source_that_does_not_hold_the_claim_is_marked(embedder):
    answer = "LLaMA 2 was released in July 2023 [2]. It leaked via 4chan torrents [9]."
    other = _passage(GAMBLE, "Reality Labs division")
    claims = ClaimChecker(embedder).check("When?", answer, [TIMELINE, other])
    reasons = [r for c in claims for r in c.reasons]
    assert any(r.startswith("[2] does not say") and "2023" in r for r in reasons), reasons
    assert "[9] is not one of the sources" in reasons


def test_wrong_dates_are_marked_and_echoed_source_headers_are_not_claims(embedder):
    leak = _passage(GAMBLE, "Then, on March 3, 2023, disaster struck.")
    check = ClaimChecker(embedder).check
    wrong = check("When did the weights leak?", "The leak was on March 3, 2024.", [leak])
    assert [r for c in wrong for r in c.reasons] == ["March 3, 2024 is not in the sources"]
    for right in ("The weights leaked on March 3, 2023.", "They leaked in March 2023."):
        assert check("When did the weights leak?", right, [leak]) == [], right
    echo = "The answer is:\n[5] (002_1fe38c41.txt, line 7)\nThe weights leaked in March 2023."
    assert check("When?", echo, [leak]) == []  # the model copying the prompt's format
    assert check("Who?", "It runs AI-powered tools.", [leak]) == []  # "AI" is in the source


def test_auto_style_is_a_quote_for_the_packaged_model_only(tmp_path):
    from assistant.factory import Components
    from assistant.settings import Settings

    def style(**settings: object) -> str:
        return Components(Settings(data_dir=tmp_path, answer_style="auto", **settings)).answer_style

    assert style() == "quoted"
    assert style(backend="ollama") == "generated" and style(backend="openai") == "generated"
    assert style(model_path=tmp_path / "llama-3.1-8b.gguf") == "generated"
