"""Users, groups, grants, API tokens and login sessions: the operations the CLI and the
server need, each one short transaction."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from assistant.auth import passwords
from assistant.auth.access import Principal
from assistant.auth.db import (
    ApiToken,
    Database,
    Grant,
    Group,
    LoginSession,
    User,
    rows_deleted,
    utcnow,
)
from assistant.errors import AssistantError

ROLES = ("read", "owner")
TOKEN_PREFIX = "oa_"  # lets a secret scanner (and a person) recognise a leaked token
LAST_USE_EVERY = timedelta(minutes=1)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(kind: str, name: str) -> str:
    if not _NAME.match(name):
        raise AssistantError(
            f"bad {kind} name '{name}': 1 to 64 letters, digits, '.', '_', '@' or '-',"
            " starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class TokenInfo:
    user: str
    name: str
    created: datetime
    expires: datetime | None
    last_used: datetime | None


@dataclass(frozen=True)
class UserInfo:
    name: str
    is_admin: bool
    groups: list[str]
    tokens: int


class Directory:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- users --------------------------------------------------------------------------
    def has_users(self) -> bool:
        with self.db.session() as s:
            return bool(s.scalar(select(func.count()).select_from(User)))

    def add_user(
        self, name: str, password: str, *, admin: bool = False, groups: Sequence[str] = ()
    ) -> None:
        check_name("user", name)
        hashed = passwords.hash_password(password)
        with self.db.session.begin() as s:
            if s.scalar(select(User).where(User.name == name)):
                raise AssistantError(f"user '{name}' exists already")
            user = User(name=name, password_hash=hashed, is_admin=admin)
            user.groups = [self._group(s, g, create=True) for g in groups]
            s.add(user)

    def set_password(self, name: str, password: str) -> int:
        """Also ends the user's browser sessions and revokes their API tokens: a changed
        password locks out whoever knew the old one, or took a token made with it.
        Returns how many tokens were revoked."""
        hashed = passwords.hash_password(password)
        with self.db.session.begin() as s:
            user = self._user(s, name)
            user.password_hash = hashed
            s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
            revoked = s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
            return rows_deleted(revoked)

    def remove_user(self, name: str) -> None:
        with self.db.session.begin() as s:
            s.delete(self._user(s, name))

    def set_admin(self, name: str, admin: bool) -> None:
        with self.db.session.begin() as s:
            self._user(s, name).is_admin = admin

    def users(self) -> list[UserInfo]:
        with self.db.session() as s:
            rows = s.scalars(select(User).options(selectinload(User.groups)).order_by(User.name))
            tokens = dict(
                s.execute(select(ApiToken.user_id, func.count()).group_by(ApiToken.user_id)).all()
            )
            return [
                UserInfo(u.name, u.is_admin, sorted(g.name for g in u.groups), tokens.get(u.id, 0))
                for u in rows
            ]

    def authenticate(self, name: str, password: str) -> Principal | None:
        """The user if the password is right, else None (the same time either way)."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            ok = passwords.verify(user.password_hash if user else None, password)
            return self._principal(s, user) if ok and user else None

    def principal(self, name: str) -> Principal | None:
        """A user by name (for a trusted proxy's header), or None if unknown."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            return self._principal(s, user) if user else None

    # --- groups and grants -------------------------------------------------------------
    def add_group(self, name: str) -> None:
        check_name("group", name)
        with self.db.session.begin() as s:
            if s.scalar(select(Group).where(Group.name == name)):
                raise AssistantError(f"group '{name}' exists already")
            s.add(Group(name=name))

    def remove_group(self, name: str) -> None:
        with self.db.session.begin() as s:
            s.delete(self._group(s, name))

    def add_member(self, group: str, user: str) -> None:
        with self.db.session.begin() as s:
            g, u = self._group(s, group), self._user(s, user)
            if g not in u.groups:
                u.groups.append(g)

    def remove_member(self, group: str, user: str) -> None:
        with self.db.session.begin() as s:
            g, u = self._group(s, group), self._user(s, user)
            if g in u.groups:
                u.groups.remove(g)

    def grant(self, group: str, collection: str, role: str = "read") -> None:
        if role not in ROLES:
            raise AssistantError(f"unknown role '{role}': use one of {', '.join(ROLES)}")
        with self.db.session.begin() as s:
            g = self._group(s, group)
            row = s.get(Grant, (collection, g.id))
            if row is None:
                s.add(Grant(collection=collection, group_id=g.id, role=role))
            else:
                row.role = role

    def revoke(self, group: str, collection: str) -> bool:
        with self.db.session.begin() as s:
            g = self._group(s, group)
            done = s.execute(
                delete(Grant).where(Grant.group_id == g.id, Grant.collection == collection)
            )
            return bool(rows_deleted(done))

    def groups(self) -> list[tuple[str, list[str], list[tuple[str, str]]]]:
        """Each group with its members and its (collection, role) grants."""
        with self.db.session() as s:
            out = []
            for g in s.scalars(
                select(Group).options(selectinload(Group.members)).order_by(Group.name)
            ):
                grants = s.execute(
                    select(Grant.collection, Grant.role).where(Grant.group_id == g.id)
                ).all()
                pairs = sorted((c, r) for c, r in grants)
                out.append((g.name, sorted(u.name for u in g.members), pairs))
            return out

    # --- API tokens --------------------------------------------------------------------
    def create_token(self, user: str, name: str, days: float | None = None) -> str:
        """A new token for `user`, valid for `days` (None: until revoked); shown once,
        only its hash is kept."""
        check_name("token", name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = utcnow() + timedelta(days=days) if days is not None else None
        with self.db.session.begin() as s:
            u = self._user(s, user)
            if s.scalar(select(ApiToken).where(ApiToken.user_id == u.id, ApiToken.name == name)):
                raise AssistantError(f"user '{user}' has a token named '{name}' already")
            s.add(
                ApiToken(user_id=u.id, name=name, token_hash=token_hash(token), expires_at=expires)
            )
        return token

    def revoke_token(self, user: str, name: str) -> bool:
        with self.db.session.begin() as s:
            u = self._user(s, user)
            done = s.execute(
                delete(ApiToken).where(ApiToken.user_id == u.id, ApiToken.name == name)
            )
            return bool(rows_deleted(done))

    def tokens(self, user: str | None = None) -> list[TokenInfo]:
        """Every token, or one user's, with when it was made, expires and was last used."""
        with self.db.session() as s:
            q = select(User.name, ApiToken).join(ApiToken.user).order_by(User.name, ApiToken.name)
            if user:
                q = q.where(User.name == user)
            return [
                TokenInfo(owner, t.name, t.created_at, t.expires_at, t.last_used_at)
                for owner, t in s.execute(q)
            ]

    def by_token(self, token: str) -> Principal | None:
        """The token's user, unless it is unknown or expired; notes its use (at most once
        a minute, so a busy client does not write on every request)."""
        with self.db.session.begin() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
            now = utcnow()
            if row is None or (row.expires_at is not None and row.expires_at < now):
                return None
            if row.last_used_at is None or now - row.last_used_at > LAST_USE_EVERY:
                row.last_used_at = now
            return self._principal(s, row.user)

    # --- browser sessions --------------------------------------------------------------
    def open_session(self, name: str, hours: float) -> str:
        token = secrets.token_urlsafe(32)
        with self.db.session.begin() as s:
            user = self._user(s, name)
            s.execute(delete(LoginSession).where(LoginSession.expires_at < utcnow()))
            expires = utcnow() + timedelta(hours=hours)
            s.add(LoginSession(token_hash=token_hash(token), user_id=user.id, expires_at=expires))
        return token

    def by_session(self, token: str) -> Principal | None:
        with self.db.session() as s:
            row = s.get(LoginSession, token_hash(token))
            if row is None or row.expires_at < utcnow():
                return None
            return self._principal(s, row.user)

    def close_session(self, token: str) -> None:
        with self.db.session.begin() as s:
            s.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))

    # --- helpers -----------------------------------------------------------------------
    @staticmethod
    def _principal(s: Session, user: User) -> Principal:
        grants = s.execute(
            select(Grant.collection, Grant.role)
            .join(Group, Group.id == Grant.group_id)
            .where(Group.members.any(User.id == user.id))
        ).all()
        return Principal(
            user.name,
            is_admin=user.is_admin,
            readable=frozenset(c for c, _ in grants),
            owned=frozenset(c for c, role in grants if role == "owner"),
        )

    @staticmethod
    def _user(s: Session, name: str) -> User:
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise AssistantError(f"no user named '{name}'")
        return user

    @staticmethod
    def _group(s: Session, name: str, create: bool = False) -> Group:
        group = s.scalar(select(Group).where(Group.name == name))
        if group is None:
            if not create:
                raise AssistantError(f"no group named '{name}'")
            group = Group(name=check_name("group", name))
            s.add(group)
        return group
