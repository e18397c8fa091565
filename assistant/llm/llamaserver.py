"""Embedded chat model on llama.cpp's own server engine, in this process (`xllamacpp`).

The engine generates for several people at once (`slots` parallel sequences, continuous
batching) and keeps each slot's prompt in its KV cache, so a prompt that starts like the
previous one in that slot (the system prompt; a follow-up's conversation so far) is not
computed again. Its wheel is prebuilt: installing it compiles nothing.

Answers run through `Server.handle_chat_completions` (the server's own code, in-process, no
HTTP). The engine also listens on a Unix socket in a private directory, for the two
requests Python has no other way to make: the chat template and the tokenizer (`/apply-
template`, `/tokenize`), so the prompt is counted exactly as the engine will see it.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from assistant.errors import AssistantError
from assistant.llm.base import Message
from assistant.llm.fifo import FifoLock
from assistant.llm.llamacpp import packaged_model_path
from assistant.llm.signals import keep_python_signal_handlers
from assistant.llm.slots import cores, default_slots, kv_bytes_per_token
from assistant.scratch import scratch_dir
from assistant.settings import Settings

# Host memory the engine may use to keep prompts of idle slots for reuse (its default is 8 GiB).
PROMPT_CACHE_MIB = 512
_DONE = object()
MAX_SOCKET_PATH = 107  # a Unix socket's path: sun_path is 108 bytes on Linux, NUL included


class LlamaServerChat:
    def __init__(self, settings: Settings) -> None:
        import xllamacpp

        path = settings.model_path or packaged_model_path()
        if not path.is_file():
            raise AssistantError(f"{path}: model file not found (ASSISTANT_MODEL_PATH)")
        self.slots = settings.slots or _auto_slots(path, settings.context_window)
        self._dir = scratch_dir("engine")  # mode 0700
        weakref.finalize(self, shutil.rmtree, self._dir, True)  # the socket's dir goes too
        sock = self._dir / "e.sock"  # the engine takes a host name ending in .sock for one
        if len(os.fsencode(sock)) > MAX_SOCKET_PATH:
            raise AssistantError(
                f"{sock}: too long a path for the engine's socket (at most"
                f" {MAX_SOCKET_PATH} bytes); set TMPDIR to a shorter folder"
            )
        self._key = secrets.token_urlsafe(24)
        params = _params(xllamacpp, settings, path, self.slots, sock)
        params.api_keys = [self._key]
        try:
            with keep_python_signal_handlers():
                self._server = xllamacpp.Server(params)
        except RuntimeError as exc:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise AssistantError(f"{path}: cannot load as a GGUF model ({exc})") from exc
        self._http = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(sock)),
            base_url="http://engine",
            headers={"Authorization": f"Bearer {self._key}"},
            timeout=60,
        )
        self.name = f"llamacpp:{path.name}"
        self.context_window = min(settings.context_window, self._slot_context())
        self._sampling = {
            "temperature": settings.temperature,
            "seed": settings.seed,
            "repeat_penalty": 1.1,
        }
        # Askers beyond the engine's slots wait here, first come first served, told their place.
        self.queue = FifoLock(self.slots)
        # Chunks the engine has produced (about one a token), counted as it produces them:
        # how tests see that a stopped answer stopped computing. Slots may race on it.
        self.tokens_generated = 0

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(path, json=body)
        if response.status_code != 200:
            raise AssistantError(f"the llama.cpp engine refused {path}: {response.text[:300]}")
        reply: dict[str, Any] = response.json()
        return reply

    def _slot_context(self) -> int:
        """The context each slot really has (the engine may round it)."""
        slots = self._http.get("/slots").json()
        return min(int(s["n_ctx"]) for s in slots)

    def metrics(self) -> dict[str, float]:
        """The engine's counters (tokens predicted, prompt tokens, ...), without the prefix."""
        values = {}
        for line in self._server.handle_metrics().splitlines():
            name, _, value = line.partition(" ")
            if name.startswith("llamacpp:") and value:
                values[name.removeprefix("llamacpp:")] = float(value)
        return values

    def busy_slots(self) -> int:
        """Slots the engine is generating in right now."""
        return sum(bool(s["is_processing"]) for s in self._http.get("/slots").json())

    def render(self, messages: Sequence[Message]) -> str:
        """The exact prompt text the engine will see, chat template applied."""
        return str(self._post("/apply-template", {"messages": list(messages)})["prompt"])

    def count_tokens(self, messages: Sequence[Message]) -> int:
        body = {"content": self.render(messages), "add_special": True, "parse_special": True}
        return len(self._post("/tokenize", body)["tokens"])

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        request = {
            "messages": list(messages),
            "max_tokens": max_tokens,
            "stop": list(stop),
            "stream": True,
            "cache_prompt": True,
            **self._sampling,
        }
        with self.queue.held():
            yield from self._generate(request)

    def _generate(self, request: dict[str, Any]) -> Iterator[str]:
        """Run one request in a worker thread (the engine's call blocks until the answer is
        done) and yield its text as it comes. Closing this generator early (the asker left)
        makes the next callback tell the engine to stop, which frees the slot."""
        chunks: queue.Queue[object] = queue.Queue()
        cancel = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            self.tokens_generated += 1
            chunks.put(chunk)
            return cancel.is_set()  # True: the engine stops this request

        def work() -> None:
            try:
                self._server.handle_chat_completions(request, on_chunk)
            except BaseException as exc:  # re-raised in the caller's thread
                chunks.put(exc)
            finally:
                chunks.put(_DONE)

        worker = threading.Thread(target=work, name="llama-engine", daemon=True)
        worker.start()
        try:
            while (chunk := chunks.get()) is not _DONE:
                if isinstance(chunk, BaseException):
                    raise AssistantError(f"the llama.cpp engine failed: {chunk}") from chunk
                yield from _text(chunk)  # type: ignore[arg-type]
        finally:
            cancel.set()
            worker.join()  # within a token's time: the slot is free before the next asker

    def close(self) -> None:
        self._http.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _text(chunk: dict[str, Any]) -> Iterator[str]:
    """The answer text in one streamed chunk; an error chunk becomes an AssistantError."""
    error = chunk.get("error") or (chunk if "code" in chunk and "message" in chunk else None)
    if error:
        message = error.get("message", error) if isinstance(error, dict) else error
        raise AssistantError(f"the llama.cpp engine refused the request: {message}")
    for choice in chunk.get("choices") or ():
        text = (choice.get("delta") or {}).get("content")
        if text:
            yield text


def _auto_slots(path: Path, context_window: int) -> int:
    try:
        kv_per_slot = kv_bytes_per_token(path) * context_window
    except AssistantError as exc:
        raise AssistantError(f"{path}: cannot load as a GGUF model (corrupt header)") from exc
    return default_slots(kv_per_slot)


def _params(xllamacpp: Any, s: Settings, path: Path, slots: int, socket: Path) -> Any:
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_parallel = slots
    params.n_ctx = s.context_window * slots  # split evenly: each slot gets context_window
    params.kv_unified = False
    threads = s.threads or cores()
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.sampling.seed = s.seed
    params.cache_ram_mib = PROMPT_CACHE_MIB
    params.hostnames = [str(socket)]  # a Unix socket: no TCP port is opened
    params.ui = False  # no web UI of its own
    params.offline = True  # never reach for a model hub
    params.verbosity = 0
    params.endpoint_metrics = True  # counters for `metrics()`, read in-process
    return params
