"""Every change to users, groups, grants and tokens on the audit trail, whoever makes it
(the CLI, the admin page): a `Directory` whose changing methods record what they did,
or tried and why it failed (with no trail, it is a plain `Directory`). Arguments pass
through untouched, so the directory can grow options without this file changing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from assistant.audit.trail import Trail
from assistant.auth.db import Database
from assistant.auth.directory import Directory
from assistant.errors import AssistantError, one_line

T = TypeVar("T")


class AuditedDirectory(Directory):
    def __init__(self, db: Database, trail: Trail | None) -> None:
        super().__init__(db)
        self.trail = trail  # None: recording is off

    def _audited(self, action: str, target: str, run: Callable[[], T], **detail: Any) -> T:
        if self.trail is None:
            return run()
        try:
            result = run()
        except AssistantError as exc:
            self.trail.record(action, target, outcome="failed", reason=one_line(exc), **detail)
            raise
        if result is False:  # revoke of something that was not there
            self.trail.record(action, target, outcome="failed", reason="nothing to remove")
        else:
            self.trail.record(action, target, **detail)
        return result

    def add_user(self, name: str, password: str, **kw: Any) -> None:
        sup = super().add_user
        groups = list(kw.get("groups", ()))
        self._audited(
            "user.create",
            name,
            lambda: sup(name, password, **kw),
            admin=bool(kw.get("admin")),
            groups=groups,
        )

    def set_password(self, name: str, password: str) -> int:
        sup = super().set_password
        return self._audited("user.password", name, lambda: sup(name, password))

    def remove_user(self, name: str) -> None:
        sup = super().remove_user
        self._audited("user.delete", name, lambda: sup(name))

    def set_admin(self, name: str, admin: bool) -> None:
        sup = super().set_admin
        self._audited("user.admin", name, lambda: sup(name, admin), admin=admin)

    def add_group(self, name: str) -> None:
        sup = super().add_group
        self._audited("group.create", name, lambda: sup(name))

    def remove_group(self, name: str) -> None:
        sup = super().remove_group
        self._audited("group.delete", name, lambda: sup(name))

    def add_member(self, group: str, user: str) -> None:
        sup = super().add_member
        self._audited("group.add_member", group, lambda: sup(group, user), user=user)

    def remove_member(self, group: str, user: str) -> None:
        sup = super().remove_member
        self._audited("group.remove_member", group, lambda: sup(group, user), user=user)

    def grant(self, group: str, collection: str, role: str = "read") -> None:
        sup = super().grant
        run = lambda: sup(group, collection, role)  # noqa: E731
        self._audited("grant.set", collection, run, group=group, role=role)

    def revoke(self, group: str, collection: str) -> bool:
        sup = super().revoke
        return self._audited(
            "grant.revoke", collection, lambda: sup(group, collection), group=group
        )

    def create_token(self, user: str, name: str, *a: Any, **kw: Any) -> str:
        sup = super().create_token
        shown = {k: str(v) for k, v in kw.items()}  # e.g. an expiry; never the token
        return self._audited(
            "token.create", user, lambda: sup(user, name, *a, **kw), name=name, **shown
        )

    def revoke_token(self, user: str, name: str) -> bool:
        sup = super().revoke_token
        return self._audited("token.revoke", user, lambda: sup(user, name), name=name)
