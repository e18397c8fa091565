"""Chat model on an Ollama server, through the official `ollama` client.

Two habits peers lack: `num_ctx` is sent on every request, sized to the prompt we built
(Ollama's small default context silently cuts long prompts), and a missing model is an
error naming the fix, never an implicit pull (an air-gapped host has no registry).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import httpx
import ollama

from assistant.errors import BackendUnavailable
from assistant.llm import Message
from assistant.settings import Settings

# Ollama has no tokenize endpoint; 3 characters a token over-counts English text a little,
# which errs on the side of a larger num_ctx, never a truncated prompt.
CHARS_PER_TOKEN = 3
TEMPLATE_TOKENS_PER_MESSAGE = 8


def ollama_error(exc: Exception, host: str, model: str) -> BackendUnavailable:
    """Turn client exceptions into one actionable line."""
    if isinstance(exc, ollama.ResponseError) and exc.status_code == 404:
        return BackendUnavailable(
            f"Ollama at {host} has no model '{model}': on a connected machine run"
            f" `ollama pull {model}`, or register a local GGUF with `ollama create`"
        )
    if isinstance(exc, httpx.TimeoutException):
        return BackendUnavailable(
            f"Ollama at {host} did not answer in time (loading '{model}' may be slow):"
            " raise ASSISTANT_OLLAMA_TIMEOUT"
        )
    if isinstance(exc, (httpx.ConnectError, ConnectionError)):
        return BackendUnavailable(f"cannot reach Ollama at {host}: is `ollama serve` running?")
    return BackendUnavailable(f"Ollama at {host} failed: {exc}")


class OllamaChat:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client = ollama.Client(host=settings.ollama_host, timeout=settings.ollama_timeout)
        self.name = f"ollama:{settings.ollama_model}"
        self.context_window = settings.context_window

    def count_tokens(self, messages: Sequence[Message]) -> int:
        chars = sum(len(m["content"]) for m in messages)
        return chars // CHARS_PER_TOKEN + TEMPLATE_TOKENS_PER_MESSAGE * len(messages)

    def stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        s = self._settings
        num_ctx = min(self.context_window, self.count_tokens(messages) + max_tokens)
        try:
            parts = self._client.chat(
                model=s.ollama_model,
                messages=list(messages),
                stream=True,
                keep_alive=s.ollama_keep_alive,
                options={
                    "num_ctx": num_ctx,
                    "num_predict": max_tokens,
                    "temperature": s.temperature,
                    "seed": s.seed,
                },
            )
            for part in parts:
                if part.message.content:
                    yield part.message.content
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError) as exc:
            raise ollama_error(exc, s.ollama_host, s.ollama_model) from exc
