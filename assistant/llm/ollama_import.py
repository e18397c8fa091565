"""Register a local GGUF file with Ollama, with no network: `assistant models import`.

The file goes up as a blob (sha256-addressed), then `create` names a model built from it.
Ollama renders prompts with Go templates, not the GGUF's own Jinja one, and left alone
it guesses a Go template by closest match. We read `tokenizer.chat_template` from the file
and set the template and stop sequences ourselves for the known families; an unknown
template is an error asking for `--template FILE` rather than a guess that would quietly
garble every prompt.

The template comes from the file's header (`gguf_meta.py`); the weights are not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import ollama

from assistant.errors import AssistantError
from assistant.llm.gguf_meta import read_strings
from assistant.llm.ollama import make_client, ollama_error
from assistant.settings import Settings


@dataclass(frozen=True)
class ChatFormat:
    family: str
    markers: tuple[str, ...]  # all present in a GGUF's Jinja template: this family
    template: str  # Ollama Go template over .Messages (the system prompt is one of them)
    stop: tuple[str, ...]  # turn markers the model must not write past


# BOS is left out of each template: Ollama's tokenizer adds it when the GGUF says so.
LLAMA3 = ChatFormat(
    "llama3",
    ("<|start_header_id|>", "<|eot_id|>"),
    "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
    "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n",
    ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
)
CHATML = ChatFormat(  # SmolLM2, Qwen, many fine-tunes
    "chatml",
    ("<|im_start|>", "<|im_end|>"),
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n",
    ("<|im_start|>", "<|im_end|>"),
)
# Llama 2 folds the system prompt into the first user turn, between <<SYS>> markers.
LLAMA2 = ChatFormat(
    "llama2",
    ("[INST]", "<<SYS>>"),
    '{{- $system := "" }}{{- range .Messages }}'
    '{{- if eq .Role "system" }}{{ $system = .Content }}'
    '{{- else if eq .Role "user" }}[INST] {{ if $system }}<<SYS>>\n{{ $system }}\n<</SYS>>\n\n'
    '{{ $system = "" }}{{ end }}{{ .Content }} [/INST]'
    '{{- else if eq .Role "assistant" }} {{ .Content }}</s><s>{{ end }}{{ end }}',
    ("[INST]", "[/INST]", "<<SYS>>", "<</SYS>>"),
)
KNOWN = (LLAMA3, CHATML, LLAMA2)


def chat_format(jinja: str | None, path: Path) -> ChatFormat:
    """The family whose markers the GGUF's Jinja template uses."""
    for fmt in KNOWN:
        if jinja and all(marker in jinja for marker in fmt.markers):
            return fmt
    what = "an unknown chat template" if jinja else "no chat template"
    known = ", ".join(f.family for f in KNOWN)
    raise AssistantError(
        f"{path}: {what} (known: {known}): write an Ollama template for it and pass"
        " `--template FILE` (and `--stop TEXT` for its turn markers)"
    )


def read_chat_template(path: Path) -> str | None:
    """`tokenizer.chat_template` of a GGUF file (an error if it is not one)."""
    if path.is_dir():
        raise AssistantError(f"{path}: a folder, not a GGUF file")
    key = "tokenizer.chat_template"
    return read_strings(path, {key}).get(key)


@dataclass(frozen=True)
class Imported:
    name: str
    digest: str
    family: str  # "custom" with --template
    stop: tuple[str, ...]


def import_gguf(
    settings: Settings,
    path: Path,
    name: str,
    *,
    template_file: Path | None = None,
    stop: tuple[str, ...] = (),
) -> Imported:
    """Upload `path` as a blob and create model `name` from it on the configured Ollama."""
    if not name.strip():
        raise AssistantError("the model name is empty (--name)")
    jinja = read_chat_template(path)
    if template_file is not None:
        try:
            fmt = ChatFormat("custom", (), template_file.read_text(), stop)
        except OSError as exc:
            raise AssistantError(f"{template_file}: cannot read ({exc.strerror})") from exc
    else:
        fmt = chat_format(jinja, path)
        fmt = ChatFormat(fmt.family, fmt.markers, fmt.template, stop or fmt.stop)
    client = make_client(settings)
    try:
        digest = client.create_blob(path)
        client.create(
            model=name,
            files={path.name: digest},
            template=fmt.template,
            parameters={"stop": list(fmt.stop)} if fmt.stop else None,
        )
    except ollama.ResponseError as exc:
        raise AssistantError(
            f"Ollama at {settings.ollama_host} refused to create '{name}': {exc.error}"
        ) from exc
    except (httpx.HTTPError, ConnectionError) as exc:
        raise ollama_error(exc, settings, name) from exc
    return Imported(name, digest, fmt.family, fmt.stop)
