"""CLI commands that live in their own modules; `assistant/cli.py` registers them."""
