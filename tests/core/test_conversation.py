"""Conversations, fast: earlier turns and the prompt budget, the rewrite's prompt and its
cleaning, which follow-ups refer back, the fusion of rankings, and the settings' defaults.
Token counts come from the real conservative estimator (`assistant.llm.estimate`)."""

from __future__ import annotations

from assistant.conversation import (
    MAX_TURNS,
    Turn,
    clip,
    fit_turns,
    turn_messages,
    turns_from_messages,
    with_history,
)
from assistant.followup import contextual_queries, fuse, refers_back
from assistant.llm.base import Message
from assistant.llm.estimate import estimate_tokens
from assistant.rewrite import REWRITE_SYSTEM, clean, rewrite_messages
from assistant.settings import Settings
from assistant.store import Chunk, Hit

BASE: list[Message] = [
    {"role": "system", "content": "Answer from the sources."},
    {"role": "user", "content": "Sources:\n\n[1] (a.txt)\nLLaMA 3 ...\n\nQuestion: And then?"},
]


def turns(n: int, answer_words: int = 30) -> list[Turn]:
    return [Turn(f"Question number {i}?", " ".join(["word"] * answer_words)) for i in range(n)]


def test_history_goes_between_the_system_prompt_and_the_current_sources() -> None:
    earlier = [Turn("When did LLaMA 3 come out?", "In April 2024 [1].")]
    messages = with_history(BASE, earlier)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0] == BASE[0] and messages[-1] == BASE[-1]
    assert messages[1]["content"] == "When did LLaMA 3 come out?"
    assert messages[2]["content"] == "In April 2024 [1]."
    # the prefix up to the current turn is the same next time: a prompt cache can reuse it
    later = with_history(BASE, [*earlier, Turn("How many tokens?", "15 trillion.")])
    assert later[:3] == messages[:3]


def test_turns_fit_newest_first_within_the_room_and_older_ones_drop() -> None:
    history = turns(6)
    base = estimate_tokens(BASE)
    one = estimate_tokens(with_history(BASE, history[-1:])) - base
    kept = fit_turns(BASE, history, estimate_tokens, room=int(one * 2.5))
    assert kept == history[-2:], "the two newest fit, unbroken, oldest first"
    used = estimate_tokens(with_history(BASE, kept)) - base
    assert used <= one * 2.5
    assert fit_turns(BASE, history, estimate_tokens, room=one - 1) == []
    assert fit_turns(BASE, history, estimate_tokens, room=0) == []
    assert fit_turns(BASE, history, estimate_tokens, room=10**6) == history


def test_a_turn_too_long_to_fit_stops_the_search_so_no_gap_appears() -> None:
    history = [*turns(2, 5), Turn("A long one?", "x " * 400), *turns(1, 5)]
    kept = fit_turns(BASE, history, estimate_tokens, room=200)
    assert kept == history[-1:], "the long turn ends the history: never an older one past it"


def test_never_more_than_max_turns() -> None:
    history = turns(MAX_TURNS + 5, 2)
    assert fit_turns(BASE, history, estimate_tokens, room=10**6) == history[-MAX_TURNS:]


def test_earlier_answers_are_clipped_and_lose_an_appended_source_list() -> None:
    answer = "LLaMA 3 came out in April 2024 [1].\n\nSources:\n[1] 001.txt (lines 1-9)"
    assert clip(answer) == "LLaMA 3 came out in April 2024 [1]."
    long = "word " * 200
    clipped = clip(long, 50)
    assert len(clipped) <= 52 and clipped.endswith(" …") and "wor …" not in clipped
    assert turn_messages([Turn("Q?", "")])[1]["content"] == "(no answer)"


def test_an_openai_message_list_becomes_turns_and_the_last_question() -> None:
    messages = [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "When did LLaMA 3 come out?"},
        {"role": "assistant", "content": "April 2024."},
        {"role": "user", "content": "How many tokens was it trained on?"},
    ]
    earlier, question = turns_from_messages(messages)
    assert earlier == [Turn("When did LLaMA 3 come out?", "April 2024.")]
    assert question == "How many tokens was it trained on?"
    # two user messages in a row: the first is a turn without an answer
    earlier, question = turns_from_messages([messages[1], messages[3]])
    assert (
        earlier == [Turn("When did LLaMA 3 come out?", "")] and question == messages[3]["content"]
    )
    assert turns_from_messages([messages[0]]) == ([], "")


def test_a_stored_turn_keeps_its_sources_cited_first() -> None:
    turn = Turn.from_dict(
        {
            "question": "Q?",
            "answer": "A [2].",
            "sources": [
                {"source": "/a/x.txt", "cited": False},
                {"source": "/a/y.txt", "cited": True},
            ],
        }
    )
    assert turn.sources == ("/a/y.txt", "/a/x.txt") and not turn.refused


def test_follow_ups_that_refer_back_are_told_from_ones_that_stand_alone() -> None:
    for question in (
        "How many tokens was it trained on?",
        "On what date did that happen?",
        "When was he hired?",
        "Which university lab sent people to work there?",
        "Why?",
        "And the 70B?",
        "What's its licence?",
    ):
        assert refers_back(question), question
    for question in (
        "What is the capital of Australia?",
        "And what is a good recipe for sourdough bread?",
        "How many tokens was LLaMA 3 trained on?",
        "Who won the 2018 FIFA World Cup?",
    ):
        assert not refers_back(question), question


def test_earlier_questions_are_weighted_by_recency() -> None:
    history = [Turn("First?"), Turn("Second?"), Turn("Third?")]
    assert contextual_queries(history, "And it?") == [
        ("Third? And it?", 1.0),
        ("Second? And it?", 0.5),
    ]
    assert contextual_queries([], "And it?") == []


def _hit(chunk_id: str, source: str) -> Hit:
    return Hit(Chunk(chunk_id, f"text of {chunk_id}", {"source": source}), 0.5)


def test_fusion_ranks_what_several_searches_agree_on_and_favours_earlier_sources() -> None:
    a, b, c, d = (_hit(i, f"/docs/{i}.txt") for i in "abcd")
    alone = [a, b, c]
    with_context = [c, d, b]
    fused = fuse([(alone, 1.0), (with_context, 1.0)], [], k=3)
    assert [h.chunk.id for h in fused] == ["c", "b", "a"], "c and b are in both rankings"
    # the file the previous answer came from tips the balance between equals
    prior = fuse([([a, d], 1.0), ([d, a], 1.0)], [Turn("Q?", "A", sources=("/docs/d.txt",))], k=2)
    assert [h.chunk.id for h in prior] == ["d", "a"]
    assert len(fuse([(alone, 1.0)], [], k=2)) == 2


def test_the_rewrite_prompt_is_short_and_holds_the_conversation() -> None:
    history = [Turn("When did LLaMA 3 come out?", "It came out in April 2024. " * 20)]
    messages = rewrite_messages(history, "How many tokens was it trained on?")
    assert messages[0]["content"] == REWRITE_SYSTEM
    user = messages[1]["content"]
    assert "User: When did LLaMA 3 come out?" in user
    assert "Last question: How many tokens was it trained on?" in user
    assert len(user) < 500, "earlier answers are clipped hard for the rewrite"
    assert "Assistant:" not in rewrite_messages([Turn("Q?", "")], "And?")[1]["content"]


def test_a_rewrite_is_cleaned_and_a_useless_one_falls_back_to_the_question() -> None:
    q = "How many tokens was it trained on?"
    assert (
        clean("How many tokens was LLaMA 3 trained on?", q)
        == "How many tokens was LLaMA 3 trained on?"
    )
    assert clean('Rewritten question: "How many tokens was LLaMA 3 trained on?"\n\nIt was', q) == (
        "How many tokens was LLaMA 3 trained on?"
    )
    assert clean("", q) == q
    assert clean("   \n ", q) == q
    assert clean("x" * 600, q) == q


def test_auto_means_rewrite_for_servers_and_fusion_for_the_packaged_model(tmp_path) -> None:
    local = Settings(data_dir=tmp_path)
    assert local.followup_strategy == "fusion" and local.history_budget == 100
    served = Settings(data_dir=tmp_path, backend="ollama", context_window=8192)
    assert served.followup_strategy == "rewrite" and served.history_budget == 2048
    forced = Settings(data_dir=tmp_path, backend="openai", followup="fusion", history_tokens=0)
    assert forced.followup_strategy == "fusion" and forced.history_budget == 0
