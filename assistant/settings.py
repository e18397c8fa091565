"""Every setting of the product, in one typed place.

Values come, highest priority first, from: keyword arguments, `ASSISTANT_*` environment
variables, a TOML file (`ASSISTANT_CONFIG`, default `~/.config/onprem-assistant/assistant.toml`),
then the defaults below. `assistant config` prints the effective result.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "onprem-assistant"


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def default_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / APP_NAME


def config_file() -> Path:
    explicit = os.environ.get("ASSISTANT_CONFIG")
    if explicit:
        return Path(explicit)
    return _xdg("XDG_CONFIG_HOME", ".config") / APP_NAME / "assistant.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid")

    # Where everything the product writes lives: Chroma, chat logs, extracted models.
    data_dir: Path = Field(default_factory=default_data_dir)

    # --- chat model -------------------------------------------------------------------
    backend: Literal["llamacpp", "ollama", "openai"] = Field(
        "llamacpp",
        description="llamacpp: embedded, in-process; ollama: a running Ollama server;"
        " openai: an OpenAI-compatible server (vLLM, llama.cpp server, TGI)",
    )
    model_path: Path | None = Field(
        None, description="GGUF file for llamacpp; empty = packaged SmolLM2-135M-Instruct"
    )
    llamacpp_engine: Literal["xllamacpp", "llama-cpp-python"] = Field(
        "xllamacpp",
        description="in-process engine of the llamacpp backend: xllamacpp (llama.cpp's server"
        " engine, prebuilt wheel, parallel slots, prompt cache); llama-cpp-python (the"
        " `llama-cpp-python` extra, compiled at install, one answer at a time)",
    )
    slots: int | None = Field(
        None,
        ge=1,
        le=64,
        description="answers the xllamacpp engine generates at once, each with its own"
        " context_window of KV cache; empty = one per two cores (at most 8), as fits a quarter"
        " of the available memory",
    )
    context_window: int = Field(4096, ge=512, description="tokens the model sees at once")
    threads: int | None = Field(None, ge=1, description="llama.cpp CPU threads; empty = all")
    max_answer_tokens: int = Field(256, ge=16, description="longest answer, in tokens")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    seed: int = Field(42, description="sampling seed, so the same question gets the same answer")

    ollama_host: str = Field("http://127.0.0.1:11434", description="Ollama server URL")
    ollama_model: str = Field("llama3.1:8b", description="chat model name on the Ollama server")
    ollama_embed_model: str = Field("all-minilm", description="embedding model on Ollama")
    ollama_keep_alive: str = Field("30m", description="how long Ollama keeps the model loaded")
    ollama_timeout: float = Field(300.0, gt=0, description="seconds; a cold model load is slow")

    # --- OpenAI-compatible chat server (backend = "openai") -----------------------------
    openai_base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="base URL of the server's OpenAI API (ends in /v1)"
    )
    openai_model: str = Field(
        "", description="model name on the server; empty = the one model it serves"
    )
    openai_api_key: SecretStr | None = Field(
        None, description="bearer token, if the server wants one (never printed)"
    )
    openai_timeout: float = Field(300.0, gt=0, description="seconds to wait for the server")

    # --- embeddings and store -----------------------------------------------------------
    embedder: Literal["onnx", "ollama"] = Field(
        "onnx", description="onnx: packaged all-MiniLM-L6-v2 int8; ollama: ollama_embed_model"
    )
    collection: str = Field("documents", description="Chroma collection questions go to")

    # --- Chroma server ------------------------------------------------------------------
    chroma_url: str = Field(
        "",
        description="Chroma server, e.g. http://chroma:8000; empty = embedded store in data_dir",
    )
    chroma_token: SecretStr | None = Field(
        None, description="token sent to the Chroma server (or the proxy in front of it)"
    )
    chroma_auth_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        "Authorization",
        description="Authorization: `Bearer TOKEN`; X-Chroma-Token: the bare token",
    )

    # --- ingestion ----------------------------------------------------------------------
    chunk_size: int = Field(700, ge=100, description="characters per chunk")
    chunk_overlap: int = Field(100, ge=0, description="characters shared by neighbour chunks")
    seed_dir: Path | None = Field(None, description="corpus indexed into an empty store")
    auto_seed: bool = Field(True, description="index seed_dir on first start when store is empty")
    max_file_mb: float = Field(
        200.0, gt=0, description="larger files are skipped with the reason 'too large'"
    )
    embed_batch: int = Field(
        128, ge=1, le=4096, description="chunks embedded and written per batch when ingesting"
    )
    upload_max_mb: float = Field(50.0, gt=0, description="largest file the web UI accepts")
    upload_types: list[str] = Field(
        [".pdf", ".md", ".markdown", ".txt", ".text", ".html", ".htm", ".docx"],
        description="file suffixes the web UI accepts for upload",
    )

    # --- retrieval and answering ----------------------------------------------------------
    top_k: int = Field(4, ge=1, le=50, description="sources given to the model")
    min_similarity: float = Field(
        0.25, ge=-1.0, le=1.0, description="cosine below which a chunk counts as unrelated"
    )
    min_keyword_coverage: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="share of rare question words that also makes a chunk related",
    )
    hybrid: bool = Field(True, description="fuse BM25 keyword ranking with vector ranking")
    chat_log: bool = Field(
        True,
        description="log each question, answer and sources to data_dir/chatlog, so a bad"
        " answer becomes a regression case with `assistant eval add`",
    )

    # --- web UI -------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="0.0.0.0 serves the internal network")
    port: int = Field(7860, ge=1, le=65535)

    # --- users and access -----------------------------------------------------------------
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the users, permissions and history database, e.g."
        " postgresql+psycopg://assistant@db/assistant; empty = SQLite in data_dir",
    )
    session_hours: float = Field(12.0, gt=0, description="a browser login lasts this long")
    login_max_failures: int = Field(
        5, ge=1, description="failed logins per user name (4x per address) before a pause"
    )
    login_window_s: float = Field(300.0, gt=0, description="seconds failed logins are counted")
    trusted_user_header: str = Field(
        "",
        description="header (e.g. X-Remote-User) naming the user a reverse proxy signed in;"
        " empty = off. Only requests from trusted_proxies may use it",
    )
    secure_cookies: bool = Field(
        False, description="mark the login cookie Secure: set when people reach it over HTTPS"
    )
    trusted_proxies: list[str] = Field(
        ["127.0.0.1", "::1"], description="addresses whose trusted_user_header is believed"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'assistant.sqlite3'}"

    @property
    def chat_log_dir(self) -> Path:
        return self.data_dir / "chatlog"

    def seed_path(self) -> Path:
        """The seed corpus: the setting, else the shipped one (see `shipped_seed_dir`)."""
        if self.seed_dir is not None:
            return self.seed_dir
        return shipped_seed_dir()


# --- shipped seed corpus ---
def shipped_seed_dir() -> Path:
    """`seeds/` beside the package in a source checkout (editable install); in a wheel
    install, the copy the wheel's data files put in `<prefix>/share/onprem-assistant/seeds`
    (prefix: the venv, or ~/.local for `pip install --user`)."""
    checkout = Path(__file__).resolve().parent.parent / "seeds"
    candidates = [checkout] + [
        Path(prefix) / "share" / APP_NAME / "seeds"
        for prefix in (
            sysconfig.get_path("data"),
            sys.prefix,
            sysconfig.get_path("data", "posix_user"),
        )
    ]
    return next((c for c in candidates if c.is_dir()), checkout)
