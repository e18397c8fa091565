"""`assistant doctor` reports the OCR engine: present, or which package to install."""

from __future__ import annotations

import pytest

from assistant.cli.doctor import ocr_check
from ingest.loaders import ocr


@pytest.fixture(autouse=True)
def _uncached():
    """`engine_problem` remembers its answer per process: each test asks afresh."""
    ocr.engine_problem.cache_clear()
    yield
    ocr.engine_problem.cache_clear()


def test_a_missing_engine_is_reported_with_its_package_but_does_not_fail(monkeypatch):
    monkeypatch.setattr(ocr.shutil, "which", lambda _name: None)
    check = ocr_check("eng")
    assert check.ok  # everything but scans works without it
    assert "tesseract-ocr" in check.detail and "refused" in check.detail


@pytest.mark.apt
def test_an_installed_engine_and_language_are_reported():
    check = ocr_check("eng")
    assert check.ok and check.detail.startswith("Tesseract with eng")
    missing = ocr_check("eng+zzz")  # no such language pack
    assert "tesseract-ocr-zzz" in missing.detail
