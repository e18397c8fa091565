"""Answering with the real packaged model: streamed, cited, fitted to the context, honest."""

from pathlib import Path

import pytest
from support.paths import make_settings

from assistant.answering import NOT_COVERED, NOT_SUPPORTED
from assistant.errors import AssistantError
from assistant.factory import Components

pytestmark = pytest.mark.slow
QUESTION = "When was Llama 2 released, and under what licence?"


def test_answer_streams_and_cites_sources_that_exist(seeded):
    stream = seeded.assistant.ask(QUESTION)
    assert stream.sources, "sources are known before the first token"
    pieces = list(stream)
    answer = stream.result()
    assert len(pieces) > 1 and answer.text == "".join(pieces).strip()
    assert answer.text and not answer.refused
    assert answer.timings["first_token_s"] <= answer.timings["total_s"]
    chunks = {c.id: c for c in seeded.store.chunks()}
    for src in answer.sources:
        assert Path(src.source).is_file()
        assert src.anchor
        text = " ".join(chunks[src.chunk_id].text.split())
        assert src.snippet.strip("…") in text
    names = [Path(s.source).name for s in answer.sources]
    assert {"001_5fec047b8f95376e.txt", "004_9034c93824e74505.txt"} & set(names[:2])


def test_off_topic_question_is_refused_without_the_model(seeded):
    answer = seeded.assistant.ask("What is the boiling point of tungsten in kelvin?").result()
    assert answer.refused and answer.text == NOT_COVERED
    assert answer.sources == []
    assert "first_token_s" not in answer.timings  # the model was never asked


def test_prompt_is_fitted_to_a_small_context_and_says_what_it_left_out(seeded, tmp_path):
    # Room for the instructions, the question and one or two sources of the six.
    small = Components(make_settings(tmp_path, context_window=768, max_answer_tokens=256))
    small.store = seeded.store  # same index, smaller model context
    stream = small.assistant.ask("Why does Meta release Llama models for free?", k=6)
    answer = stream.result()
    assert answer.prompt_tokens <= 768 - 256
    assert 1 <= len(answer.sources) < 6
    assert answer.omitted_sources == 6 - len(answer.sources)


def test_a_question_too_long_for_the_context_is_a_clear_error(seeded, tmp_path):
    small = Components(make_settings(tmp_path, context_window=512, max_answer_tokens=256))
    small.store = seeded.store
    with pytest.raises(AssistantError, match="do not fit the model's context"):
        small.assistant.ask("Why is Meta's Llama open? " * 60)


def test_quoted_answers_cite_the_supporting_sentence_without_the_model(seeded, tmp_path):
    quoted = Components(make_settings(tmp_path, answer_style="quoted"))
    quoted.store = seeded.store
    answer = quoted.assistant.ask("When was Llama 2 released?").result()
    assert not answer.refused and answer.answer_style == "quoted"
    assert "July 2023" in answer.text and "first_token_s" not in answer.timings
    cited = [s for s in answer.sources if s.cited]
    assert cited and all(f"[{s.number}]" in answer.text for s in cited)
    assert any("July 2023" in e.text for s in cited for e in s.evidence)


def test_a_near_topic_question_is_declined_with_the_closest_passages(seeded):
    answer = seeded.assistant.ask("How much did Meta pay to acquire Instagram?").result()
    assert answer.refused and answer.text == NOT_SUPPORTED
    assert answer.sources, "the closest passages are shown"
    assert "first_token_s" not in answer.timings  # the model was never asked


def test_both_shows_the_quote_then_the_models_checked_answer(seeded, tmp_path):
    both = Components(make_settings(tmp_path, answer_style="both", max_answer_tokens=48))
    both.store = seeded.store
    answer = both.assistant.ask("When was Llama 2 released?").result()
    assert answer.text.startswith(answer.quote) and "July 2023" in answer.quote
    assert "The model's answer:" in answer.text and answer.timings["first_token_s"] > 0
    for claim in answer.unsupported:  # offsets point into the whole text, after the quote
        assert answer.text[claim.start : claim.end] == claim.text
        assert claim.start > len(answer.quote)
