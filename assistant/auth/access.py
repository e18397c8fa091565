"""Who may read or write which collection.

Access is decided per collection, never per chunk: a question runs only against the
collections its asker may read, so no answer, source or listing can hold another group's
chunk (and a Chroma `where` filter would cost ~25x per query).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.store import Store


class AccessDenied(AssistantError):
    """Not allowed, or not there: the message is the same, so a name's existence is not
    revealed to someone who may not read it."""


class ReadOnly(AccessDenied):
    """The user may read the collection but not change it (so saying so reveals nothing)."""


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the permission checks see them."""

    name: str
    is_admin: bool = False
    readable: frozenset[str] = field(default_factory=frozenset)  # granted collections
    owned: frozenset[str] = field(default_factory=frozenset)

    def can_read(self, collection: str) -> bool:
        return self.is_admin or collection in self.readable or collection in self.owned

    def can_write(self, collection: str) -> bool:
        """Upload and delete documents: the collection's owners and admins."""
        return self.is_admin or collection in self.owned

    def visible(self, existing: list[str]) -> list[str]:
        """The existing collections this user may read, sorted."""
        return sorted(c for c in existing if self.can_read(c))


# The laptop: auth is off (no users, loopback only), so its one person is an admin.
LOCAL = Principal("local", is_admin=True)


def askable(store: Store) -> list[str]:
    """The collections this server can search (built with its embedder)."""
    return [c.name for c in store.collection_stats() if c.documents is not None]


def scope(principal: Principal, store: Store, requested: str | None = None) -> list[str]:
    """The collections a question runs against: the one asked for, if this user may read
    it, or (None) every collection they may read."""
    existing = askable(store)
    if requested:
        check_read(principal, requested, existing)
        return [requested]
    return principal.visible(existing)


def check_read(principal: Principal, collection: str, existing: list[str] | None = None) -> None:
    """Raise `AccessDenied` unless `principal` may read `collection` (and, given the
    collections that exist, it is one of them)."""
    missing = existing is not None and collection not in existing
    if missing or not principal.can_read(collection):
        raise AccessDenied(f"no collection named '{collection}'")


def check_write(principal: Principal, collection: str) -> None:
    """Raise unless `principal` may upload to and delete from `collection`: `ReadOnly` for
    a reader, `AccessDenied` for anyone else."""
    if principal.can_write(collection):
        return
    if principal.can_read(collection):
        raise ReadOnly(f"only owners of '{collection}' may change its documents")
    raise AccessDenied(f"no collection named '{collection}'")
