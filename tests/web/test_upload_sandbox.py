"""Uploaded files are parsed in a real child process under a wall-clock and a memory
limit before they are ingested: breaking either is one clear line, never a frozen or
dead server."""

from __future__ import annotations

from pathlib import Path

from assistant.cli.sandbox import parse_problem

LIMITS = {"seconds": 60.0, "memory_mb": 1024, "max_bytes": 2**20}


def test_a_normal_file_parses_in_the_child(tmp_path: Path):
    doc = tmp_path / "fine.md"
    doc.write_text("# Fine\n\nNothing wrong with this one.\n")
    assert parse_problem(doc, **LIMITS) is None


def test_a_pdf_parses_in_the_child_within_the_default_memory(tmp_path: Path):
    from support.pdfs import text_pdf

    doc = tmp_path / "report.pdf"
    doc.write_bytes(text_pdf(["Page one of the report.", "Page two, with a table."]))
    assert parse_problem(doc, **LIMITS) is None


def test_a_file_the_loaders_refuse_is_left_to_the_ingest_to_explain(tmp_path: Path):
    empty = tmp_path / "empty.md"
    empty.write_text("")
    assert parse_problem(empty, **LIMITS) is None  # ingest says "empty", as always


def test_parsing_past_the_time_limit_is_refused(tmp_path: Path):
    doc = tmp_path / "slow.md"
    doc.write_text("# Slow\n\nStands in for a parser's worst case.\n")
    problem = parse_problem(doc, **{**LIMITS, "seconds": 0.001})
    assert problem is not None and "upload_parse_seconds" in problem
    assert "\n" not in problem


def test_parsing_past_the_memory_limit_is_refused(tmp_path: Path):
    doc = tmp_path / "big.md"
    doc.write_text("# Big\n\n" + "word " * 1000 + "\n")
    problem = parse_problem(doc, **{**LIMITS, "memory_mb": 16})
    assert problem is not None and "upload_parse_memory_mb" in problem, problem
