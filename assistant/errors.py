"""Errors a user can act on. The CLI and UI print their message as one line, never a traceback."""


class AssistantError(Exception):
    """Something the user can fix: the message says what went wrong and what to do."""


class BackendUnavailable(AssistantError):
    """A model server (Ollama) or store server cannot be reached or lacks a model."""


class EmbedderMismatch(AssistantError):
    """The collection was built with a different embedding model than the one configured."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (library messages often span several), or its
    type's name when it has none: what the UI, the API and reports show."""
    return " ".join(str(exc).split()) or type(exc).__name__
