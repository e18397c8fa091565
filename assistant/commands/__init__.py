"""CLI commands that live in their own modules, registered at the bottom of `assistant/cli.py`."""

from __future__ import annotations

from typing import Any

from assistant.errors import AssistantError
from assistant.settings import Settings


def load_settings(**overrides: Any) -> Settings:
    """The effective settings; a bad value is one `AssistantError` line naming it."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:  # pydantic's ValidationError
        raise AssistantError(f"invalid settings: {exc}".replace("\n", "; ")) from exc
