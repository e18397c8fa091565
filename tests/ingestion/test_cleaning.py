"""The markup cleaner: wiki links become their labels, timestamps become citation markers."""

from support.paths import SEEDS

from ingest.cleaning import clean

TIMESTAMPED = SEEDS / "000_ff4f05a3c6834f76.txt"


def test_wiki_link_becomes_its_label_or_target():
    text = clean("Meta embraced [[open_source_x | open-source AI]] and [[PyTorch]].").text
    assert text == "Meta embraced open-source AI and PyTorch."


def test_timestamp_anchor_is_removed_but_kept_as_marker_after_its_sentence():
    raw = 'First claim <a class="yt-timestamp" data-t="00:05:44">[00:05:44]</a>. Second.'
    cleaned = clean(raw)
    assert cleaned.text == "First claim. Second."
    [marker] = cleaned.timestamps
    assert marker.label == "00:05:44"
    assert cleaned.text[: marker.offset] == "First claim"


def test_front_matter_gives_the_title_and_keeps_line_numbers():
    raw = "---\ntitle: Metas strategy\nvideoId: x\n---\n\nBody line\n"
    cleaned = clean(raw)
    assert cleaned.title == "Metas strategy"
    assert cleaned.text.splitlines()[5] == "Body line"  # still line 6, as in the file
    assert "videoId" not in cleaned.text


def test_other_html_and_entities_are_dropped():
    assert clean("From: x <br/> A &amp; B **bold**").text == "From: x A & B bold"


def test_horizontal_rules_are_dropped_but_their_lines_kept():
    assert clean("Intro\n\n---\n\n## Next\n").text == "Intro\n\n\n\n## Next\n"


def test_no_markup_survives_in_any_seed_document():
    paths = sorted(SEEDS.glob("*.txt"))
    assert len(paths) == 5, f"expected the 5 seed documents in {SEEDS}, found {len(paths)}"
    for path in paths:
        text = clean(path.read_text(encoding="utf-8")).text
        for leftover in ("[[", "]]", "<a ", "</a>", "<br", "data-t=", "**"):
            assert leftover not in text, f"{path.name} still contains {leftover!r}"


def test_seed_timestamps_are_all_kept_in_order_of_appearance():
    raw = TIMESTAMPED.read_text(encoding="utf-8")
    cleaned = clean(raw)
    assert len(cleaned.timestamps) == raw.count('class="yt-timestamp"')
    offsets = [m.offset for m in cleaned.timestamps]
    assert offsets == sorted(offsets)
    assert cleaned.title == "Metas open source AI strategy"
    # The label of a wiki link survives, its target does not.
    assert "embrace open-source AI" in cleaned.text
    assert "open_source_versus_closed_source_in_ai_development" not in cleaned.text
