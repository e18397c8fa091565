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
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant.errors import AssistantError

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

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="everything the product writes: the embedded Chroma store, the users"
        " database, chat logs, uploaded files",
    )

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
    temperature: float = Field(
        0.0, ge=0.0, le=2.0, description="sampling temperature; 0: the same answer every time"
    )
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
    chroma_connect_timeout: float = Field(
        5.0, gt=0, description="seconds to open a connection to the Chroma server"
    )
    chroma_read_timeout: float = Field(
        60.0,
        gt=0,
        description="seconds to wait for the Chroma server to answer a request: a hung server"
        " fails the question with an error instead of blocking it",
    )

    # --- ingestion ----------------------------------------------------------------------
    chunk_size: int = Field(700, ge=100, description="characters per chunk")
    chunk_overlap: int = Field(100, ge=0, description="characters shared by neighbour chunks")
    seed_dir: Path | None = Field(
        None, description="corpus indexed into an empty store; empty = the shipped seeds/"
    )
    auto_seed: bool = Field(True, description="index seed_dir on first start when store is empty")
    max_file_mb: float = Field(
        200.0, gt=0, description="larger files are skipped with the reason 'too large'"
    )
    max_unzipped_mb: float = Field(
        200.0,
        gt=0,
        description="DOCX, XLSX, PPTX and OpenDocument files that would inflate to more than"
        " this are refused before parsing (zip bombs)",
    )
    max_zip_ratio: float = Field(
        100.0, gt=1, description="... and those whose parts inflate more than this many times"
    )
    ocr_languages: str = Field(
        "eng",
        description="Tesseract languages for scanned pages and images, e.g. 'eng+deu'"
        " (each needs Debian's tesseract-ocr-LANG package)",
    )
    ocr_min_confidence: float = Field(
        60.0,
        ge=0,
        le=100,
        description="an OCR'd page whose mean word confidence (0-100) is below this is"
        " indexed but flagged 'low OCR confidence' in its citation",
    )
    embed_batch: int = Field(
        128, ge=1, le=4096, description="chunks embedded and written per batch when ingesting"
    )
    upload_max_mb: float = Field(50.0, gt=0, description="largest file the web UI accepts")
    upload_parse_seconds: float = Field(
        300.0,
        gt=0,
        description="an uploaded file is parsed in a child process first: longer than this"
        " and it is refused (one hostile file cannot freeze the server; OCR of a long scan"
        " takes minutes)",
    )
    upload_parse_memory_mb: int = Field(
        1024,
        ge=16,
        description="memory (address space) that child may use; more and the file is refused",
    )
    upload_quota_mb: float = Field(
        500.0,
        gt=0,
        description="megabytes one user may upload within an hour (web page and API);"
        " more is answered 429. Only users who own a collection (or admins) may upload",
    )
    upload_types: list[str] = Field(
        [".pdf", ".md", ".markdown", ".txt", ".text", ".html", ".htm", ".docx", ".xlsx"]
        + [".xlsm", ".csv", ".tsv", ".pptx", ".odt", ".ods", ".odp", ".eml", ".mbox"]
        + [".png", ".jpg", ".jpeg", ".tif", ".tiff"],
        description="file suffixes the web UI accepts for upload",
    )

    # --- retrieval and answering ----------------------------------------------------------
    top_k: int = Field(4, ge=1, le=50, description="sources given to the model")
    max_questions_in_flight: int = Field(
        16,
        ge=1,
        description="questions being answered or waiting for the model at once (/api, /v1;"
        " the web chat's queue too); one more is answered 503 with its place and Retry-After",
    )
    max_questions_per_user: int = Field(
        2, ge=1, description="questions one user may have in flight at once; more get 429"
    )
    max_question_chars: int = Field(
        4000,
        ge=10,
        description="longest question accepted, everywhere (web chat and its API, /api,"
        " /v1, CLI); a longer one is refused before it is searched or logged",
    )
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
    followup: Literal["auto", "rewrite", "fusion", "off"] = Field(
        "auto",
        description="how a follow-up question is searched: rewrite = the chat model makes it"
        " a standalone question; fusion = searched with the earlier questions, no model;"
        " off = on its own words; auto = rewrite for ollama/openai, fusion for llamacpp",
    )
    history_tokens: int | None = Field(
        None,
        ge=0,
        description="most prompt tokens a conversation's earlier turns may take (newest"
        " first); empty = 100 for llamacpp, a quarter of context_window for ollama/openai",
    )
    answer_style: Literal["auto", "generated", "quoted", "both"] = Field(
        "auto",
        description="generated: the model's answer; quoted: the sources' best supporting"
        " sentences, each cited, without the model; both: the quote, then the model's answer."
        " auto: the measured best for the packaged model, generated for any other model",
    )
    require_support: bool = Field(
        True,
        description="decline when no sentence of the retrieved passages supports an answer"
        " (a question near the documents' topic that they do not answer)",
    )
    chat_log: bool = Field(
        True,
        description="log each question, answer and sources to data_dir/chatlog, so a bad"
        " answer becomes a regression case with `assistant eval add`",
    )

    # --- web UI -------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="0.0.0.0 serves the internal network")
    port: int = Field(7860, ge=1, le=65535, description="port the web UI and API listen on")
    allowed_hosts: list[str] = Field(
        [],
        description="names people reach the server by (the Host header), e.g."
        " assistant.internal or *.example.org, besides IP addresses, localhost and this"
        " machine's name; any other name is refused (DNS rebinding). '*' = any",
    )

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
    login_concurrency: int = Field(
        2,
        ge=1,
        le=64,
        description="password checks (Argon2id, ~64 MiB each) run at once; a sign-in beyond"
        " that is answered 503 with Retry-After",
    )
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

    # --- directory sign-in: LDAP / Active Directory (off while ldap_url is empty) -----------
    ldap_url: str = Field(
        "",
        description="LDAP server, e.g. ldaps://dc1.corp.example or ldap://ldap.internal:389;"
        " empty = no directory sign-in (local users only)",
    )
    ldap_user_dn: str = Field(
        "",
        description="bind as the user directly with this DN template, e.g."
        " uid={user},ou=people,dc=example,dc=org or {user}@corp.example (AD);"
        " empty = search-then-bind with ldap_bind_dn",
    )
    ldap_bind_dn: str = Field(
        "", description="service account that searches for the user (search-then-bind)"
    )
    ldap_bind_password: SecretStr | None = Field(
        None, description="the service account's password (never printed)"
    )
    ldap_base_dn: str = Field("", description="where users (and by default groups) are searched")
    ldap_user_filter: str = Field(
        "(uid={user})",
        description="finds the user; AD: (sAMAccountName={user}). {user} is escaped",
    )
    ldap_group_filter: str = Field(
        "",
        description="finds the groups of an entry, followed upwards for nested groups, e.g."
        " (member={dn}); AD with nesting in one query:"
        " (member:1.2.840.113556.1.4.1941:={dn}); empty = the entry's memberOf",
    )
    ldap_group_base_dn: str = Field("", description="where groups are searched; empty = base")
    ldap_disabled_filter: str = Field(
        "",
        description="an entry matching this is refused, e.g. AD:"
        " (userAccountControl:1.2.840.113556.1.4.803:=2)",
    )
    ldap_starttls: bool = Field(False, description="upgrade ldap:// with StartTLS")
    ldap_ca_file: Path | None = Field(
        None, description="CA certificate(s) that signed the server's (PEM); empty = system's"
    )
    ldap_timeout: float = Field(5.0, gt=0, description="seconds to connect and per request")
    directory_group_map: dict[str, str] = Field(
        {},
        description="directory group (DN or CN, case-insensitive) -> product group, set at each"
        " directory sign-in; unmapped directory groups are ignored",
    )

    # --- directory sign-in: OpenID Connect (off while oidc_issuer is empty) ----------------
    oidc_issuer: str = Field(
        "",
        description="OpenID provider's issuer URL, e.g. https://sso.corp.example/realms/staff"
        " (discovery at ISSUER/.well-known/openid-configuration); empty = off",
    )
    oidc_client_id: str = Field("", description="this assistant's client id at the provider")
    oidc_client_secret: SecretStr | None = Field(
        None, description="the client's secret (confidential client; never printed)"
    )
    oidc_redirect_url: str = Field(
        "",
        description="this server's callback as people reach it, e.g."
        " https://assistant.corp.example/oidc/callback; empty = from the request",
    )
    oidc_scopes: str = Field("openid profile email", description="scopes asked for")
    oidc_username_claim: str = Field(
        "preferred_username", description="claim that names the user here"
    )
    oidc_groups_claim: str = Field(
        "groups", description="claim holding the user's groups, mapped by directory_group_map"
    )
    oidc_ca_file: Path | None = Field(
        None, description="CA certificate(s) of the provider's TLS (PEM); empty = system's"
    )

    # --- audit trail (off by default) -------------------------------------------------------
    audit: bool = Field(
        False,
        description="record sign-ins, questions (who, collections, sources, model), documents"
        " opened, uploaded and deleted, and every admin change in the hash-chained audit"
        " trail of the users database (`assistant audit`)",
    )
    audit_texts: bool = Field(
        False,
        description="also record each question's and answer's text on the audit trail"
        " (off: only who asked, where, and which sources came back)",
    )
    audit_retention_days: float = Field(
        0.0,
        ge=0,
        description="audit records older than this are deleted when the server starts and"
        " by `assistant audit purge`; 0 = keep forever",
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

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """The effective settings with `overrides` on top (None means "not given"); a bad
        value is one `AssistantError` line naming the setting, never a pydantic traceback."""
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValueError as exc:  # pydantic's ValidationError
            raise AssistantError(f"invalid settings: {exc}".replace("\n", "; ")) from exc

    @property
    def keyword_database(self) -> str | None:
        """Where a Chroma server's replicas share the keyword index: `database_url` when it
        is PostgreSQL (else a SQLite file in the replica's data dir; the embedded store
        keeps it in its manifest file)."""
        url = self.database_url or ""
        return url if self.chroma_url and url.startswith("postgresql") else None

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

    @property
    def followup_strategy(self) -> str:
        """`followup` with `auto` resolved: a server's model is assumed capable of a rewrite."""
        if self.followup != "auto":
            return self.followup
        return "fusion" if self.backend == "llamacpp" else "rewrite"

    @property
    def history_budget(self) -> int:
        """`history_tokens` with the default resolved: on the packaged CPU model every prompt
        token costs prefill time, so a follow-up's first token stays within 1.15x."""
        if self.history_tokens is not None:
            return self.history_tokens
        return 100 if self.backend == "llamacpp" else self.context_window // 4

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
