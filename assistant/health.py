"""`assistant doctor`: check the whole chain the settings describe, and say what to fix.

Each check is a small method yielding `Check`s; a failure carries the fix in one line. The
order follows the data: settings and air-gap, data dir, store, embedder and the collections
built with it, then the chat model. Nothing here writes to the store or pulls a model.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant import offline
from assistant.errors import AssistantError
from assistant.settings import Settings, config_file


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _writable(path: Path) -> str | None:
    """None if files can be created in `path` (made if missing), else the reason."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _ollama_names(settings: Settings) -> list[str]:
    from assistant.llm.ollama import make_client

    return [m.model or "" for m in make_client(settings).list().models]


def _listed(model: str, names: list[str]) -> bool:
    # Ollama reports "llama3.1:8b" and "all-minilm:latest"; a bare name means ":latest".
    return model in names or f"{model}:latest" in names


def _embedder_setting(name: str) -> str:
    """The settings that select the embedder a collection records, e.g. 'ollama:nomic'."""
    kind, _, model = name.partition(":")
    if kind == "ollama":
        return f"ASSISTANT_EMBEDDER=ollama ASSISTANT_OLLAMA_EMBED_MODEL={model}"
    return f"ASSISTANT_EMBEDDER={kind}"


class Doctor:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self._chroma: Any = None  # the client, once the store check opened it
        self._dim: int | None = None  # the configured embedder's vector size, once known

    def run(self) -> list[Check]:
        checks: list[Check] = []
        steps: list[tuple[str, Callable[[], Iterator[Check]]]] = [
            ("settings", self.settings),
            ("data dir", self.data_dir),
            ("store", self.store),
            ("embedder", self.embedder),
            ("collections", self.collections),
            ("chat model", self.chat_model),
            ("identity", self.identity),
        ]
        for name, step in steps:
            try:
                checks.extend(step())
            except AssistantError as exc:  # its message already says what to do
                checks.append(Check(name, False, str(exc), "as the message says"))
            except Exception as exc:  # doctor reports, it never crashes
                detail = f"{type(exc).__name__}: {exc}"
                checks.append(Check(name, False, detail, "unexpected: please report it"))
        return checks

    # --- settings and air-gap ------------------------------------------------------------
    def settings(self) -> Iterator[Check]:
        source = config_file()
        where = f"{source}" if source.is_file() else f"{source} (absent: defaults and env)"
        yield Check("settings", True, f"config file {where}; backend {self.s.backend}")
        wrong = {k: os.environ.get(k) for k, v in offline.OFFLINE_ENV.items()}
        wrong = {k: v for k, v in wrong.items() if v != offline.OFFLINE_ENV[k]}
        enforced = ", ".join(f"{k}={v}" for k, v in offline.OFFLINE_ENV.items())
        if wrong:
            yield Check(
                "offline",
                False,
                f"not in force: {wrong}",
                "import `assistant` before chromadb/gradio (assistant/offline.py)",
            )
        else:
            yield Check("offline", True, f"telemetry and hub access off: {enforced}")

    # --- files ---------------------------------------------------------------------------
    def data_dir(self) -> Iterator[Check]:
        path = self.s.data_dir
        reason = _writable(path)
        if reason:
            yield Check(
                "data dir",
                False,
                f"{path}: not writable ({reason})",
                f"make {path} a directory this user can write, or set ASSISTANT_DATA_DIR",
            )
        else:
            yield Check("data dir", True, f"{path} writable")

    def store(self) -> Iterator[Check]:
        # Everything after this check works on either client.
        if self.s.chroma_url:
            yield from self._chroma_server()
        else:
            yield from self._embedded_chroma()

    def _chroma_server(self) -> Iterator[Check]:
        from assistant.store.chroma_manifest import MANIFEST_COLLECTION
        from assistant.store.server import ChromaServer, ServerClient
        from assistant.store.store import KEYWORD_FILE

        s = self.s
        client = ServerClient(ChromaServer.from_settings(s))
        client.heartbeat()  # unreachable or refused: BackendUnavailable, naming the fix
        self._chroma = _WithoutManifest(client, MANIFEST_COLLECTION)
        count = len(self._chroma.list_collections())
        keywords = (
            "PostgreSQL, shared by every replica"
            if s.keyword_database
            else f"{s.chroma_dir / KEYWORD_FILE}, this data dir's own (replicas on several"
            " machines: set database_url to PostgreSQL)"
        )
        yield Check(
            "store",
            True,
            f"Chroma server at {s.chroma_url}: {count} collection(s); keyword index in {keywords}",
        )

    def _embedded_chroma(self) -> Iterator[Check]:
        path = self.s.chroma_dir
        reason = _writable(path)
        if reason:
            yield Check(
                "store",
                False,
                f"embedded Chroma at {path}: not writable ({reason})",
                f"make {path} writable for this user, or set ASSISTANT_DATA_DIR",
            )
            return
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self._chroma = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        count = len(self._chroma.list_collections())
        yield Check("store", True, f"embedded Chroma at {path}: {count} collection(s)")

    # --- embeddings ----------------------------------------------------------------------
    def embedder(self) -> Iterator[Check]:
        from assistant.embeddings import make_embedder

        s = self.s
        if s.embedder == "ollama":
            found = self._ollama_model_check("embedder", s.ollama_embed_model)
            if found is not None:
                yield found
                return
        embedder = make_embedder(s)
        self._dim = len(embedder.embed(["doctor"])[0])
        yield Check("embedder", True, f"{embedder.name}: {self._dim} dimensions")

    def collections(self) -> Iterator[Check]:
        if self._chroma is None:
            return  # the store check failed and said why
        if self.s.embedder == "onnx":
            from assistant.embeddings.onnx import OnnxMiniLM

            configured = OnnxMiniLM.name
        else:
            configured = f"ollama:{self.s.ollama_embed_model}"
        for col in sorted(self._chroma.list_collections(), key=lambda c: c.name):
            yield self._collection(col, configured)

    def _collection(self, col: Any, configured: str) -> Check:
        built_with = str((col.metadata or {}).get("embedder"))
        got = col.get(limit=1, include=["embeddings"])["embeddings"]
        dim = len(got[0]) if got is not None and len(got) else None
        name = f"collection {col.name}"
        rebuild = f"`assistant ingest --rebuild -c {col.name} PATH...`"
        if built_with != configured:
            return Check(
                name,
                False,
                f"built with embedder '{built_with}' ({dim} dimensions), but the configured"
                f" embedder is '{configured}'",
                f"set {_embedder_setting(built_with)}, or re-index it with {rebuild}",
            )
        if dim is not None and self._dim is not None and dim != self._dim:
            return Check(
                name,
                False,
                f"holds {dim}-dimension vectors, the embedder makes {self._dim}",
                f"the embedding model changed under the same name: re-index with {rebuild}",
            )
        return Check(name, True, f"{col.count()} chunks, embedder '{built_with}', dim {dim}")

    def identity(self) -> Iterator[Check]:
        """The directory sign-in and the audit trail, when configured (identity_health.py)."""
        from assistant.identity_health import identity_checks

        yield from (Check(*c) for c in identity_checks(self.s))

    # --- chat model ----------------------------------------------------------------------
    def chat_model(self) -> Iterator[Check]:
        backend = self.s.backend
        if backend == "ollama":
            yield self._ollama_model_check("chat model", self.s.ollama_model) or Check(
                "chat model", True, f"Ollama at {self.s.ollama_host} has '{self.s.ollama_model}'"
            )
        elif backend == "openai":
            yield self._openai()
        else:
            yield self._gguf()

    def _gguf(self) -> Check:
        from assistant.llm.gguf_meta import read_values
        from assistant.llm.llamacpp import packaged_model_path

        path = self.s.model_path or packaged_model_path()
        fix = "set ASSISTANT_MODEL_PATH to a local .gguf file (empty: the packaged model)"
        if not path.is_file():
            return Check("chat model", False, f"{path}: model file not found", fix)
        # Weights are memory-mapped, not read, so loading is quick even for an 8B model, yet
        # llama.cpp checks every tensor lies inside the file (a truncated copy fails).
        problem = _load_problem(path, self.s)
        if problem:
            return Check("chat model", False, problem, fix)
        arch = read_values(path, {"general.architecture"}).get("general.architecture")
        key = f"{arch}.context_length"
        trained = int(read_values(path, {key}).get(key, 0))
        if trained and self.s.context_window > trained:
            return Check(
                "chat model",
                False,
                f"{path.name} was trained on {trained} tokens of context, context_window is"
                f" {self.s.context_window}",
                f"set ASSISTANT_CONTEXT_WINDOW to {trained} or less",
            )
        engine = self.s.llamacpp_engine
        return Check("chat model", True, f"{path} loads ({engine}, trained context {trained})")

    def _ollama_model_check(self, name: str, model: str) -> Check | None:
        """A failed check if Ollama is down or lacks `model`; None when all is well."""
        from assistant.llm.ollama import ollama_error

        host = self.s.ollama_host
        try:
            names = _ollama_names(self.s)
        except Exception as exc:  # client errors: connect, HTTP, protocol
            error = ollama_error(exc, self.s, model)
            return Check(
                name, False, str(error), "start `ollama serve` there, or set ASSISTANT_OLLAMA_HOST"
            )
        if not _listed(model, names):
            return Check(
                name,
                False,
                f"Ollama at {host} has no model '{model}' (it has: {', '.join(names) or 'none'})",
                f"on a connected machine `ollama pull {model}`, or register a local GGUF with"
                f" `assistant models import FILE.gguf --name {model}`",
            )
        return None

    def _openai(self) -> Check:
        from assistant.llm.openai import OpenAIChat

        chat = OpenAIChat(self.s)
        try:
            model = chat.check()
            chat.count_tokens([{"role": "user", "content": "doctor"}])
        except AssistantError as exc:
            return Check("chat model", False, str(exc), "as the message says")
        return Check(
            "chat model",
            True,
            f"{self.s.openai_base_url} serves '{model}'; tokens counted by {chat.tokenizer}",
        )


class _WithoutManifest:
    """A server client whose collection list leaves out the assistant's own manifest."""

    def __init__(self, client: Any, manifest: str) -> None:
        self._client, self._manifest = client, manifest

    def list_collections(self) -> list[Any]:
        return [c for c in self._client.list_collections() if c.name != self._manifest]


def _load_problem(path: Path, settings: Settings) -> str | None:
    """Why the engine cannot load this GGUF, or None when it can."""
    if settings.llamacpp_engine == "llama-cpp-python":
        from llama_cpp import Llama

        try:
            Llama(model_path=str(path), n_ctx=256, n_batch=64, verbose=False).close()
        except ValueError as exc:
            return f"{path}: cannot load as a GGUF model ({exc})"
        return None
    from assistant.llm.llamaserver import LlamaServerChat

    small = {"model_path": path, "slots": 1, "context_window": 512}
    try:
        LlamaServerChat(settings.model_copy(update=small)).close()
    except AssistantError as exc:
        return str(exc)
    return None
