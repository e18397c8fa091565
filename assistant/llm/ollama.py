"""Chat model on an Ollama server, through the official `ollama` client.

Two habits peers lack: `num_ctx` is sent on every request, sized to the prompt we built
(Ollama's small default context silently cuts long prompts), and a missing model is an
error naming the fix, never an implicit pull (an air-gapped host has no registry).
Ollama unloads and reloads the model whenever `num_ctx` differs from the loaded one, so the
size moves in powers of two and never shrinks: a few reloads per process, not one a question.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import httpx
import ollama

from assistant.errors import BackendUnavailable
from assistant.llm.base import Message
from assistant.llm.estimate import estimate_tokens
from assistant.settings import Settings

MIN_NUM_CTX = 2048
CONNECT_TIMEOUT_S = 10.0  # a firewalled host should fail fast, not after a model-load wait


def make_client(settings: Settings) -> ollama.Client:
    timeout = httpx.Timeout(settings.ollama_timeout, connect=CONNECT_TIMEOUT_S)
    return ollama.Client(host=settings.ollama_host, timeout=timeout)


def ollama_error(
    exc: Exception, settings: Settings, model: str, *, started: bool = False
) -> BackendUnavailable:
    """Turn client exceptions into one actionable line. `started`: the answer had begun."""
    host, timeout = settings.ollama_host, settings.ollama_timeout
    if isinstance(exc, ollama.ResponseError) and exc.status_code == 404:
        return BackendUnavailable(
            f"Ollama at {host} has no model '{model}': on a connected machine run"
            f" `ollama pull {model}`, or register a local GGUF with"
            f" `assistant models import FILE.gguf --name {model}`"
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return BackendUnavailable(
            f"cannot reach Ollama at {host} within {CONNECT_TIMEOUT_S:.0f}s: a firewall or"
            " a wrong host? (ASSISTANT_OLLAMA_HOST)"
        )
    if isinstance(exc, (httpx.ConnectError, ConnectionError)):
        return BackendUnavailable(f"cannot reach Ollama at {host}: is `ollama serve` running?")
    if isinstance(exc, httpx.TimeoutException) and not started:
        # Connected, then silence: Ollama says nothing until the model is in memory, and a
        # cold load of an 8B+ model from disk can take minutes.
        return BackendUnavailable(
            f"Ollama at {host} accepted the request but sent nothing for {timeout:.0f}s,"
            f" most likely while loading '{model}' into memory: raise ASSISTANT_OLLAMA_TIMEOUT"
            f" (now {timeout:.0f}), and keep the model loaded between questions with"
            f" ASSISTANT_OLLAMA_KEEP_ALIVE (now {settings.ollama_keep_alive})"
        )
    if isinstance(exc, httpx.TimeoutException):
        return BackendUnavailable(
            f"Ollama at {host} stopped mid-answer for {timeout:.0f}s (overloaded?):"
            " raise ASSISTANT_OLLAMA_TIMEOUT"
        )
    return BackendUnavailable(f"Ollama at {host} failed: {exc}")


class OllamaChat:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client = make_client(settings)
        self.name = f"ollama:{settings.ollama_model}"
        self.context_window = settings.context_window
        self._num_ctx = 0  # largest sent so far; see the module docstring

    def count_tokens(self, messages: Sequence[Message]) -> int:
        # Ollama has no tokenize endpoint: over-estimate, so num_ctx errs on the large side.
        return estimate_tokens(messages)

    def ready(self) -> None:
        """Raise unless the server is up and has the model (for the /readyz probe)."""
        self._client.show(self._settings.ollama_model)

    def _num_ctx_for(self, needed: int) -> int:
        """Context for a request needing `needed` tokens: a power of two, capped, never shrunk."""
        size = MIN_NUM_CTX
        while size < needed:
            size *= 2
        self._num_ctx = max(self._num_ctx, min(size, self.context_window))
        return self._num_ctx

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        s = self._settings
        num_ctx = self._num_ctx_for(self.count_tokens(messages) + max_tokens)
        started = False
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
                    **({"stop": list(stop)} if stop else {}),
                },
            )
            for part in parts:
                if part.message.content:
                    started = True
                    yield part.message.content
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError) as exc:
            raise ollama_error(exc, s, s.ollama_model, started=started) from exc
