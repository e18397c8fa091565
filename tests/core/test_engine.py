"""The in-process engine (xllamacpp: llama.cpp's server engine) on the packaged SmolLM2 GGUF:
streaming, stop sequences, max tokens, exact token counts, cancellation that frees the
slot for the next in line, parallel slots that generate together without cross-talk, and
the first-come-first-served line with places."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.paths import make_settings

from assistant.llm.fifo import Queued, arrival, in_arrival_order, with_places
from assistant.llm.llamaserver import LlamaServerChat

pytestmark = pytest.mark.slow

FRUITS = [{"role": "user", "content": "Name three fruits."}]
SEA = [{"role": "user", "content": "Write one sentence about the sea."}]
STORY = [{"role": "user", "content": "Tell me a very long story about a dragon."}]


@pytest.fixture(scope="module")
def one(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServerChat]:
    model = LlamaServerChat(make_settings(tmp_path_factory.mktemp("one"), slots=1))
    yield model
    model.close()


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServerChat]:
    model = LlamaServerChat(make_settings(tmp_path_factory.mktemp("two"), slots=2))
    yield model
    model.close()


def wait_until(condition, seconds: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_it_streams_in_pieces_and_counts_the_prompt_exactly(one: LlamaServerChat) -> None:
    pieces = list(one.stream(FRUITS, max_tokens=24))
    assert len(pieces) > 5 and "".join(pieces).strip()
    # The engine's own count of the prompt it computed, from a non-streamed request.
    reply = one._server.handle_chat_completions({"messages": FRUITS, "max_tokens": 1})
    assert one.count_tokens(FRUITS) == reply["usage"]["prompt_tokens"]
    rendered = one.render(FRUITS)  # the GGUF's own chat template (ChatML)
    assert "<|im_start|>user\nName three fruits.<|im_end|>" in rendered
    assert rendered.endswith("<|im_start|>assistant\n")
    assert one.name == "llamacpp:SmolLM2-135M-Instruct.Q4_1.gguf" and one.slots == 1


def test_max_tokens_and_stop_sequences_end_the_answer(one: LlamaServerChat) -> None:
    assert len(list(one.stream(STORY, max_tokens=5))) <= 5
    full = "".join(one.stream(FRUITS, max_tokens=40))
    words = full.split()
    assert len(words) > 6
    stop = f" {words[4]} {words[5]}"  # from the middle of the answer the model gives
    assert stop in full
    cut = "".join(one.stream(FRUITS, max_tokens=40, stop=[stop]))
    assert stop not in cut and full.startswith(cut) and len(cut) < len(full)


def test_a_waiter_learns_its_place_and_a_cancelled_answer_frees_the_slot(
    one: LlamaServerChat,
) -> None:
    before = one.metrics()["tokens_predicted_total"]
    first = one.stream(STORY, max_tokens=2000)
    assert next(first)  # the only slot is generating for the first asker
    events: dict[str, list[object]] = {"second": [], "third": []}
    order: list[str] = []

    def ask(name: str) -> None:
        for item in with_places(one.stream(FRUITS, max_tokens=8)):
            if not isinstance(item, Queued) and name not in order:
                order.append(name)
            events[name].append(item)

    second = threading.Thread(target=ask, args=("second",))
    second.start()
    assert wait_until(lambda: one.queue.waiting == 1)
    third = threading.Thread(target=ask, args=("third",))
    third.start()
    assert wait_until(lambda: one.queue.waiting == 2)
    # The place is yielded just after the asker joins the line: wait for it to arrive.
    assert wait_until(lambda: events["third"] == [Queued(2)]), events
    assert events["second"] == [Queued(1)]
    first.close()  # the first asker goes away: its generation stops, the line moves up
    second.join(300)
    third.join(300)
    assert order == ["second", "third"]  # first come, first served
    assert events["third"][:2] == [Queued(2), Queued(1)]
    for name in order:
        assert "".join(x for x in events[name] if isinstance(x, str)).strip()
    assert wait_until(lambda: one.busy_slots() == 0)
    # The cancelled answer stopped after a few tokens, not at 2000 (or at its natural end).
    predicted = one.metrics()["tokens_predicted_total"] - before
    assert predicted < 1 + 50 + 2 * 8, predicted
    assert one.queue.busy == 0 and one.queue.waiting == 0


def test_the_line_is_in_the_order_questions_were_asked_not_reached_the_model(
    one: LlamaServerChat,
) -> None:
    """Two questions asked one after the other; the later one's search was quicker, so it
    reaches the model's line first. The one asked first is still answered first, and the
    other is told it moved back."""
    first = one.stream(STORY, max_tokens=2000)
    assert next(first)  # the only slot is busy
    asked_early, asked_late = arrival(), arrival()
    events: dict[str, list[object]] = {"early": [], "late": []}
    order: list[str] = []

    def ask(name: str, ticket: float) -> None:
        for item in with_places(in_arrival_order(one.stream(FRUITS, max_tokens=8), ticket)):
            if not isinstance(item, Queued) and name not in order:
                order.append(name)
            events[name].append(item)

    late = threading.Thread(target=ask, args=("late", asked_late))
    late.start()
    assert wait_until(lambda: events["late"] == [Queued(1)]), events
    early = threading.Thread(target=ask, args=("early", asked_early))
    early.start()
    assert wait_until(lambda: events["early"] == [Queued(1)]), events
    assert wait_until(lambda: events["late"] == [Queued(1), Queued(2)]), events
    first.close()
    early.join(300)
    late.join(300)
    assert order == ["early", "late"]
    assert one.queue.busy == 0 and one.queue.waiting == 0


def test_slots_generate_together_and_each_answer_is_its_own(two: LlamaServerChat) -> None:
    alone = {name: "".join(two.stream(q, max_tokens=24)) for name, q in (("a", FRUITS), ("b", SEA))}
    assert alone["a"] != alone["b"]
    got: dict[str, str] = {}
    spans: dict[str, tuple[float, float]] = {}

    def run(name: str, messages: list) -> None:  # type: ignore[type-arg]
        stamps, pieces = [], []
        for piece in two.stream(messages, max_tokens=24):
            stamps.append(time.perf_counter())
            pieces.append(piece)
        got[name], spans[name] = "".join(pieces), (stamps[0], stamps[-1])

    threads = [threading.Thread(target=run, args=a) for a in (("a", FRUITS), ("b", SEA))]
    for t in threads:
        t.start()
    busy = 0
    while any(t.is_alive() for t in threads):
        busy = max(busy, two.busy_slots())
        time.sleep(0.02)
    assert two.queue.waiting == 0  # neither waited in line: two slots
    assert busy == 2  # the engine generated both at once
    (a0, a1), (b0, b1) = spans["a"], spans["b"]
    assert a0 < b1 and b0 < a1  # the two streams overlapped in time
    assert got == alone  # no cross-talk: each got exactly the answer it gets alone


def test_a_missing_or_broken_model_is_one_clear_error(tmp_path: Path) -> None:
    from assistant.errors import AssistantError

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(AssistantError, match="broken.gguf: cannot load as a GGUF model"):
        LlamaServerChat(make_settings(tmp_path, model_path=broken, slots=1))
    with pytest.raises(AssistantError, match="model file not found"):
        LlamaServerChat(make_settings(tmp_path, model_path=tmp_path / "gone.gguf"))


def test_a_temp_dir_too_long_for_the_socket_is_one_clear_error(tmp_path, monkeypatch) -> None:
    import tempfile

    from assistant.errors import AssistantError

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with pytest.raises(AssistantError, match="too long a path for the engine's socket.*TMPDIR"):
        LlamaServerChat(make_settings(tmp_path, slots=1))
    assert list(deep.iterdir()) == []  # its private folder went with it
