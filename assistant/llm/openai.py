"""Chat model on an OpenAI-compatible server: vLLM, llama.cpp's server, TGI, LocalAI ...

Plain httpx, not the `openai` SDK: we need four endpoints, our own connect-vs-read timeout
split (a cold model load must not read as "server down") and the servers' non-OpenAI
tokenize endpoints, and the SDK's majors have moved fast under it.

The model is checked against the server's `/models` list once, on first use: llama.cpp's
servers answer any model name with the model they have, so a typo would otherwise pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from assistant.errors import BackendUnavailable
from assistant.llm.base import Message
from assistant.llm.estimate import TEMPLATE_TOKENS_PER_MESSAGE, estimate_tokens
from assistant.settings import Settings

CONNECT_TIMEOUT_S = 10.0  # a firewalled host should fail fast, not after a model-load wait

Counter = Callable[[Sequence[Message]], int | None]


class OpenAIChat:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._base = settings.openai_base_url.rstrip("/")
        # The tokenize endpoints of vLLM and llama.cpp live at the server root, beside /v1.
        self._root = self._base.removesuffix("/v1")
        key = settings.openai_api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(settings.openai_timeout, connect=CONNECT_TIMEOUT_S),
        )
        self._model = settings.openai_model
        self._checked = False
        self._counter: Counter | None = None
        self.tokenizer = "unknown"  # which way count_tokens counts, once known (for doctor)
        self.context_window = settings.context_window

    # --- the model ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        # An empty openai_model means "the one the server serves": ask it to learn which.
        # A server still starting (vLLM takes minutes) must not stop `serve` from starting:
        # the first question then reports what is wrong.
        try:
            return f"openai:{self._model or self.check()}"
        except BackendUnavailable:
            return "openai:(the served model)"

    def ready(self) -> None:
        """Raise unless the server is up and lists models (for the /readyz probe)."""
        if not self.served_models():
            raise BackendUnavailable(f"{self._base}/models lists no model")

    def served_models(self) -> list[str]:
        response = self._request("GET", f"{self._base}/models")
        if response.status_code == 404:
            raise BackendUnavailable(
                f"{self._base}/models not found: is {self._base} an OpenAI-compatible API?"
                " ASSISTANT_OPENAI_BASE_URL usually ends in /v1"
            )
        self._raise_for_status(response)
        return [str(m.get("id")) for m in response.json().get("data", [])]

    def check(self) -> str:
        """Make sure the server is up and serves the configured model; return its name."""
        if self._checked:
            return self._model
        served = self.served_models()
        listing = ", ".join(served) or "nothing"
        if not self._model:
            if len(served) != 1:
                raise BackendUnavailable(
                    f"the server at {self._base} serves {listing}:"
                    " pick one with ASSISTANT_OPENAI_MODEL"
                )
            self._model = served[0]
        elif self._model not in served:
            raise BackendUnavailable(
                f"the server at {self._base} has no model '{self._model}'; it serves:"
                f" {listing} (set ASSISTANT_OPENAI_MODEL)"
            )
        self._checked = True
        return self._model

    # --- counting ----------------------------------------------------------------------
    def count_tokens(self, messages: Sequence[Message]) -> int:
        self.check()
        try:
            if self._counter is None:
                self._counter = self._pick_counter(messages)
            return self._counter(messages) or estimate_tokens(messages)
        except httpx.HTTPError as exc:
            raise self._error(exc, False) from exc

    def _pick_counter(self, messages: Sequence[Message]) -> Counter:
        """The most exact way this server offers, found by trying each once.

        vLLM's /tokenize applies the chat template itself (exact); llama.cpp's C++ server
        has /apply-template + /tokenize (exact); llama-cpp-python's /extras/tokenize counts
        the text, to which we add the template's markers (near-exact, errs high); else the
        character estimate, which over-counts on purpose (see `estimate.py`).
        """
        for name, counter in (
            ("vllm /tokenize", self._count_vllm),
            ("llama.cpp /apply-template", self._count_llama_server),
            ("llama-cpp-python /extras/tokenize", self._count_extras),
        ):
            try:
                if counter(messages) is not None:
                    self.tokenizer = name
                    return counter
            except (httpx.HTTPStatusError, ValueError, KeyError, TypeError):
                continue  # not this kind of server (a server that is down raises)
        self.tokenizer = "estimate (3 characters a token)"
        return lambda _: None

    def _post_json(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.post(f"{self._root}{path}", json=body)
        response.raise_for_status()
        return response.json()

    def _count_vllm(self, messages: Sequence[Message]) -> int | None:
        body = {"model": self._model, "messages": list(messages), "add_generation_prompt": True}
        count = self._post_json("/tokenize", body).get("count")
        return count if isinstance(count, int) else None

    def _count_llama_server(self, messages: Sequence[Message]) -> int | None:
        prompt = self._post_json("/apply-template", {"messages": list(messages)})["prompt"]
        tokens = self._post_json("/tokenize", {"content": prompt, "parse_special": True})
        return len(tokens["tokens"])

    def _count_extras(self, messages: Sequence[Message]) -> int | None:
        text = "\n".join(m["content"] for m in messages)
        tokens = self._post_json("/extras/tokenize", {"input": text, "model": self._model})
        # +1: the assistant turn the generation prompt opens after the last message.
        return len(tokens["tokens"]) + TEMPLATE_TOKENS_PER_MESSAGE * (len(messages) + 1)

    # --- generating --------------------------------------------------------------------
    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        s = self._settings
        model = self.check()
        body: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": s.temperature,
            "seed": s.seed,
        }
        if stop:
            body["stop"] = list(stop)[:4]  # the OpenAI API takes at most 4
        started = False
        try:
            with self._http.stream("POST", f"{self._base}/chat/completions", json=body) as r:
                if r.status_code >= 400:
                    r.read()
                    self._raise_for_status(r)
                for line in r.iter_lines():
                    if not line.startswith("data:"):
                        continue  # SSE comments, event names, keep-alives
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        return
                    piece = self._piece(json.loads(data))
                    if piece:
                        started = True
                        yield piece
        except httpx.HTTPError as exc:
            raise self._error(exc, started) from exc

    def _piece(self, event: dict[str, Any]) -> str:
        if "error" in event:  # some servers report a failure inside the stream
            error = event["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise BackendUnavailable(f"the server at {self._base} failed mid-answer: {message}")
        choices = event.get("choices") or [{}]
        return (choices[0].get("delta") or {}).get("content") or ""

    # --- errors ------------------------------------------------------------------------
    def _request(self, method: str, url: str) -> httpx.Response:
        try:
            return self._http.request(method, url)
        except httpx.HTTPError as exc:
            raise self._error(exc, False) from exc

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        if status in (401, 403):
            given = "the API key given" if self._settings.openai_api_key else "no API key"
            raise BackendUnavailable(
                f"the server at {self._base} refused {given} (HTTP {status}):"
                " set ASSISTANT_OPENAI_API_KEY to the key it expects"
            )
        try:
            detail = response.json().get("error") or response.text
            if isinstance(detail, dict):
                detail = detail.get("message", detail)
        except ValueError:
            detail = response.text
        raise BackendUnavailable(
            f"the server at {self._base} answered HTTP {status}: {str(detail)[:300]}"
        )

    def _error(self, exc: httpx.HTTPError, started: bool) -> BackendUnavailable:
        base, timeout = self._base, self._settings.openai_timeout
        if isinstance(exc, httpx.ConnectTimeout):
            return BackendUnavailable(
                f"cannot reach the server at {base} within {CONNECT_TIMEOUT_S:.0f}s:"
                " a firewall or a wrong host? (ASSISTANT_OPENAI_BASE_URL)"
            )
        if isinstance(exc, httpx.ConnectError):
            return BackendUnavailable(
                f"cannot reach the server at {base}: is it running? (ASSISTANT_OPENAI_BASE_URL)"
            )
        if isinstance(exc, httpx.ReadTimeout) and not started:
            return BackendUnavailable(
                f"the server at {base} accepted the request but sent nothing for {timeout:.0f}s"
                " (loading the model, or busy): raise ASSISTANT_OPENAI_TIMEOUT"
            )
        if isinstance(exc, httpx.TimeoutException):
            return BackendUnavailable(
                f"the server at {base} stopped mid-answer for {timeout:.0f}s:"
                " raise ASSISTANT_OPENAI_TIMEOUT, or check the server's load"
            )
        return BackendUnavailable(f"the connection to {base} failed: {exc or type(exc).__name__}")
