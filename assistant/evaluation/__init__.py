"""Regression suites: fixed questions run through the chat path, scored, gated, reported.

suite.py loads and validates a suite file; runner.py asks every case through
`Assistant.ask`; metrics.py scores; gates.py applies thresholds and the baseline;
terminal.py, junit.py and markdown.py report; editing.py appends cases (`eval add`).
"""
