"""Answering with the real packaged model: streamed, cited, fitted to the context, honest."""

from pathlib import Path

import pytest
from support.paths import make_settings

from assistant.answering import NOT_COVERED
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
        assert src.snippet.rstrip("…") in text
    names = [Path(s.source).name for s in answer.sources]
    assert {"001_5fec047b8f95376e.txt", "004_9034c93824e74505.txt"} & set(names[:2])


def test_off_topic_question_is_refused_without_the_model(seeded):
    answer = seeded.assistant.ask("What is the boiling point of tungsten in kelvin?").result()
    assert answer.refused and answer.text == NOT_COVERED
    assert answer.sources == []
    assert "first_token_s" not in answer.timings  # the model was never asked


def test_prompt_is_fitted_to_a_small_context_and_says_what_it_left_out(seeded, tmp_path):
    small = Components(make_settings(tmp_path, context_window=512, max_answer_tokens=256))
    small.store = seeded.store  # same index, smaller model context
    stream = small.assistant.ask("Why does Meta release Llama models for free?", k=6)
    answer = stream.result()
    assert answer.prompt_tokens <= 512 - 256
    assert 1 <= len(answer.sources) < 6
    assert answer.omitted_sources == 6 - len(answer.sources)


def test_a_question_too_long_for_the_context_is_a_clear_error(seeded, tmp_path):
    small = Components(make_settings(tmp_path, context_window=512, max_answer_tokens=256))
    small.store = seeded.store
    with pytest.raises(AssistantError, match="do not fit the model's context"):
        small.assistant.ask("Why is Meta's Llama open? " * 60)
