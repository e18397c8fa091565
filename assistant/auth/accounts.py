"""The directory the server and the CLI run with: local users as before, plus accounts
that come from an organisation's directory (LDAP / Active Directory, OpenID Connect),
accounts an admin disabled, and (with the audit trail on) every change recorded.

A local user (one with a password here) always signs in locally, also while the
directory is down: that is the break-glass admin. Anyone else is asked of the directory;
on success the account is created on first sign-in (with no usable password here) and
its product groups are set from its directory groups through `directory_group_map`:
groups named in the map are added or removed to match, other product groups are left
alone, unmapped directory groups ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from assistant.audit.directory import AuditedDirectory
from assistant.auth.access import Principal
from assistant.auth.db import Base, Database, User
from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.audit import Trail
    from assistant.auth.ldap import LdapSignIn
    from assistant.auth.oidc import OidcSignIn, OidcUser

EXTERNAL = "!"  # a password hash starting with this is no password: the directory decides


class UserState(Base):
    """Where an account comes from, and whether an admin disabled it (its own table, so
    the users table stays as it was)."""

    __tablename__ = "user_states"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(16), default="local")  # local, ldap, oidc
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


def mapped_groups(directory_groups: Iterable[str], group_map: Mapping[str, str]) -> set[str]:
    """The product groups a directory user belongs in (keys matched case-insensitively)."""
    wanted = {g.lower() for g in directory_groups}
    return {product for key, product in group_map.items() if key.lower() in wanted}


class Accounts(AuditedDirectory):
    def __init__(
        self,
        db: Database,
        trail: Trail | None = None,
        *,
        ldap: LdapSignIn | None = None,
        oidc: OidcSignIn | None = None,
        group_map: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(db, trail)
        Base.metadata.tables[UserState.__tablename__].create(db.engine, checkfirst=True)
        self.ldap = ldap
        self.oidc = oidc
        self.group_map = dict(group_map or {})

    @property
    def external(self) -> bool:
        """Does anyone sign in through a directory (so login is on without local users)?"""
        return self.ldap is not None or self.oidc is not None

    # --- sign-in -----------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> Principal | None:
        """Local users by their password here; others by the directory (which may raise
        `DirectoryUnavailable` when it cannot be reached)."""
        if self.ldap is None or self._is_local(name):
            return super().authenticate(name, password)
        found = self.ldap.authenticate(name, password)
        if found is None:
            return None
        return self.provision(name, "ldap", mapped_groups(found.groups, self.group_map))

    def sign_in_oidc(self, user: OidcUser) -> Principal | None:
        """The account of a user the OpenID provider vouched for (None: disabled here).
        A local account of the same name is never taken over."""
        if self._is_local(user.name):
            raise AssistantError(
                f"a local account is named '{user.name}': it signs in with its password only"
            )
        return self.provision(user.name, "oidc", mapped_groups(user.groups, self.group_map))

    def _is_local(self, name: str) -> bool:
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            return user is not None and not user.password_hash.startswith(EXTERNAL)

    def provision(self, name: str, source: str, groups: set[str]) -> Principal | None:
        """Create a directory account on first sign-in and set its mapped groups; None
        when an admin disabled it here."""
        managed = set(self.group_map.values())
        with self.db.session.begin() as s:
            user = s.scalar(select(User).where(User.name == name))
            created = user is None
            if user is None:
                user = User(name=name, password_hash=f"{EXTERNAL}{source}")
                s.add(user)
                s.flush()
                s.add(UserState(user_id=user.id, source=source))
            before = {g.name for g in user.groups}
            keep = [g for g in user.groups if g.name not in managed]
            user.groups = keep + [self._group(s, g, create=True) for g in sorted(groups)]
            after = {g.name for g in user.groups}
        if self.trail is not None and (created or before != after):
            self.trail.record(
                "user.sync",
                name,
                source=source,
                created=created,
                added=sorted(after - before),
                removed=sorted(before - after),
            )
        return self.principal(name)

    # --- disabling -----------------------------------------------------------------------
    def set_disabled(self, name: str, disabled: bool) -> None:
        """A disabled account cannot sign in, and its sessions and tokens stop working."""

        def run() -> None:
            with self.db.session.begin() as s:
                user = self._user(s, name)
                state = s.get(UserState, user.id) or UserState(user_id=user.id, source="local")
                state.disabled = disabled
                s.add(state)

        self._audited("user.disable" if disabled else "user.enable", name, run)

    def states(self) -> dict[str, tuple[str, bool]]:
        """user name -> (source, disabled), for the admin page."""
        with self.db.session() as s:
            rows = s.execute(
                select(User.name, UserState.source, UserState.disabled).outerjoin(
                    UserState, UserState.user_id == User.id
                )
            ).all()
        return {n: (src or "local", bool(off)) for n, src, off in rows}

    @staticmethod
    def _principal(s: Session, user: User) -> Principal | None:  # type: ignore[override]
        state = s.get(UserState, user.id)
        if state is not None and state.disabled:
            return None
        return AuditedDirectory._principal(s, user)
