"""Uploaded files are parsed in a real child process under a wall-clock and a memory
limit before they are ingested: breaking either is one clear line, never a frozen or
dead server. What the parsing libraries warn of there is said in the file's result."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from support.office import unplaced_sheet_xlsx

from assistant.cli.sandbox import ingest_uploads, parse_in_child
from assistant.cli.wiring import index_files
from assistant.factory import Components

LIMITS = {"seconds": 60.0, "memory_mb": 1024, "max_bytes": 2**20}


def test_a_normal_file_parses_in_the_child(tmp_path: Path):
    doc = tmp_path / "fine.md"
    doc.write_text("# Fine\n\nNothing wrong with this one.\n")
    assert parse_in_child(doc, **LIMITS).problem is None


def test_a_pdf_parses_in_the_child_within_the_default_memory(tmp_path: Path):
    from support.pdfs import text_pdf

    doc = tmp_path / "report.pdf"
    doc.write_bytes(text_pdf(["Page one of the report.", "Page two, with a table."]))
    assert parse_in_child(doc, **LIMITS).problem is None


def test_a_file_the_loaders_refuse_is_left_to_the_ingest_to_explain(tmp_path: Path):
    empty = tmp_path / "empty.md"
    empty.write_text("")
    assert parse_in_child(empty, **LIMITS).problem is None  # ingest says "empty", as always


def test_parsing_past_the_time_limit_is_refused(tmp_path: Path):
    doc = tmp_path / "slow.md"
    doc.write_text("# Slow\n\nStands in for a parser's worst case.\n")
    problem = parse_in_child(doc, **{**LIMITS, "seconds": 0.001}).problem
    assert problem is not None and "upload_parse_seconds" in problem
    assert "\n" not in problem


def test_parsing_past_the_memory_limit_is_refused(tmp_path: Path):
    doc = tmp_path / "big.md"
    doc.write_text("# Big\n\n" + "word " * 1000 + "\n")
    problem = parse_in_child(doc, **{**LIMITS, "memory_mb": 16}).problem
    assert problem is not None and "upload_parse_memory_mb" in problem, problem


# In the server the worker thread's warning goes to the log; pytest would make it an error.
@pytest.mark.filterwarnings("ignore:File contains an invalid specification")
def test_a_library_warning_in_the_child_is_said_in_the_upload_s_result(
    tmp_path: Path, fresh: Components
):
    """The server ingests uploads in a worker thread, where warnings cannot be caught (they
    are per process): the child, parsing on its main thread, reports them instead."""
    book = unplaced_sheet_xlsx(tmp_path / "beds.xlsx")
    parsed = parse_in_child(book, **LIMITS)
    assert parsed.problem is None
    assert any("invalid specification" in w for w in parsed.warnings), parsed.warnings

    told, done = [], []

    def upload() -> None:  # as the server does: off the main thread
        outcome = ingest_uploads(
            fresh, index_files, [book], "documents", on_file=told.append, on_chunks=lambda n: None
        )
        done.extend(outcome.results)

    worker = threading.Thread(target=upload)
    worker.start()
    worker.join(timeout=300)
    [result] = done
    assert result.status == "added" and "invalid specification" in result.reason, result
    assert [r.reason for r in told] == [result.reason]  # the page's live line says it too
