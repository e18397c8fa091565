"""Wire the core together from settings: embedder -> store -> retriever -> model -> assistant."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from assistant.answering import Assistant
from assistant.chatlog import ChatLog
from assistant.checks import Checks
from assistant.embeddings import make_embedder
from assistant.llm import ChatModel, make_chat_model
from assistant.quoting import AnswerStyle, resolve_style
from assistant.retrieval import Retriever
from assistant.settings import Settings
from assistant.store import Store
from assistant.store.server import ChromaServer

if TYPE_CHECKING:  # SQLAlchemy is loaded only by what needs the users database
    from assistant.audit import Trail
    from assistant.auth import Database
    from assistant.auth.accounts import Accounts
    from assistant.auth.ldap import LdapSignIn
    from assistant.auth.oidc import OidcSignIn


class Components:
    """Builds each part on first use, so `assistant docs` never loads the chat model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def store(self) -> Store:
        s = self.settings
        server = None
        if s.chroma_url:
            server = ChromaServer.from_settings(s)
        return Store(s.chroma_dir, make_embedder(s), s.collection, server, s.keyword_database)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever.from_settings(self.store, self.settings)

    @cached_property
    def model(self) -> ChatModel:
        return make_chat_model(self.settings)

    @cached_property
    def assistant(self) -> Assistant:
        s = self.settings
        options: dict[str, Any] = {
            "max_answer_tokens": s.max_answer_tokens,
            "max_question_chars": s.max_question_chars,
            "on_answer": ChatLog(s.chat_log_dir).record if s.chat_log else None,
            "followup": s.followup_strategy,
            "history_tokens": s.history_budget,
            "checks": Checks.build(
                self.store.embedder, self.answer_style, require_support=s.require_support
            ),
        }
        if self.trail is not None:
            from assistant.audit.answers import AuditedAssistant

            return AuditedAssistant(self.retriever, self.model, trail=self.trail, **options)
        return Assistant(self.retriever, self.model, **options)

    @property
    def answer_style(self) -> AnswerStyle:
        """The style in force: `auto` is resolved for the packaged model or any other."""
        s = self.settings
        packaged = s.backend == "llamacpp" and s.model_path is None
        return resolve_style(s.answer_style, packaged_model=packaged)

    # --- users, groups, tokens and the audit trail (one SQL database) ----------------------
    @cached_property
    def database(self) -> Database:
        from assistant.auth import Database

        return Database(self.settings.database)

    @cached_property
    def trail(self) -> Trail | None:
        """The audit trail, when `audit` is on."""
        if not self.settings.audit:
            return None
        from assistant.audit import Trail

        return Trail(self.database, keep_texts=self.settings.audit_texts)

    @cached_property
    def directory(self) -> Accounts:
        """Users and groups, with directory sign-in when configured; with the audit trail
        on, every change to them is recorded."""
        from assistant.auth.accounts import Accounts

        s = self.settings
        return Accounts(
            self.database,
            self.trail,
            ldap=self.ldap,
            oidc=self.oidc,
            group_map=s.directory_group_map,
        )

    @cached_property
    def oidc(self) -> OidcSignIn | None:
        """Sign-in with an OpenID Connect provider, when `oidc_issuer` is set."""
        s = self.settings
        if not s.oidc_issuer:
            return None
        from assistant.auth.oidc import OidcConfig, OidcSignIn

        secret = s.oidc_client_secret.get_secret_value() if s.oidc_client_secret else ""
        return OidcSignIn(
            OidcConfig(
                issuer=s.oidc_issuer,
                client_id=s.oidc_client_id,
                client_secret=secret,
                scopes=s.oidc_scopes,
                username_claim=s.oidc_username_claim,
                groups_claim=s.oidc_groups_claim,
                ca_file=str(s.oidc_ca_file or ""),
            )
        )

    @cached_property
    def ldap(self) -> LdapSignIn | None:
        """Sign-in against LDAP / Active Directory, when `ldap_url` is set."""
        s = self.settings
        if not s.ldap_url:
            return None
        from assistant.auth.ldap import LdapConfig, LdapSignIn

        return LdapSignIn(
            LdapConfig(
                url=s.ldap_url,
                user_dn=s.ldap_user_dn,
                bind_dn=s.ldap_bind_dn,
                bind_password=s.ldap_bind_password.get_secret_value()
                if s.ldap_bind_password
                else "",
                base_dn=s.ldap_base_dn,
                user_filter=s.ldap_user_filter,
                group_filter=s.ldap_group_filter,
                group_base_dn=s.ldap_group_base_dn,
                disabled_filter=s.ldap_disabled_filter,
                starttls=s.ldap_starttls,
                ca_file=str(s.ldap_ca_file or ""),
                timeout=s.ldap_timeout,
            )
        )
