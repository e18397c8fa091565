"""Sign-in against an LDAP directory or Active Directory (ldap3).

Either bind as the user straight away (`ldap_user_dn`, e.g. `{user}@corp.example` for AD
or `uid={user},ou=people,dc=example,dc=org`), or find the user with a service account
(`ldap_bind_dn` + `ldap_user_filter`) and then bind as them. The user's groups come from a
group search (`ldap_group_filter`, followed upwards so nested groups count) or from the
entry's `memberOf`; `ldap_disabled_filter` matching the entry refuses the sign-in.

The user name is checked against the product's name rule and escaped for filters and
DNs, so `*)(uid=*` and the like can never widen a search. An empty password is refused
before anything is sent: LDAP treats a bind with a name and no password as an
anonymous bind, which "succeeds".
"""

from __future__ import annotations

import math
import ssl
from dataclasses import dataclass, field
from typing import Any

from assistant.auth.directory import _NAME
from assistant.errors import AssistantError

MAX_NESTING = 8  # group-in-group levels followed; deeper (or a cycle) stops there


class DirectoryUnavailable(AssistantError):
    """The directory cannot be reached or refuses the service account: not a wrong password."""


@dataclass(frozen=True)
class LdapConfig:
    url: str
    user_dn: str = ""  # template with {user}: bind as the user directly
    bind_dn: str = ""  # service account for search-then-bind
    bind_password: str = ""
    base_dn: str = ""
    user_filter: str = "(uid={user})"
    group_filter: str = ""  # e.g. (member={dn}); empty: the entry's memberOf
    group_base_dn: str = ""
    disabled_filter: str = ""  # e.g. AD: (userAccountControl:1.2.840.113556.1.4.803:=2)
    starttls: bool = False
    ca_file: str = ""
    timeout: float = 5.0


@dataclass(frozen=True)
class LdapUser:
    name: str
    dn: str
    groups: frozenset[str] = field(default_factory=frozenset)  # DNs and their CNs, lower-case


def _cn(dn: str) -> str:
    first = dn.split(",", 1)[0]
    key, _, value = first.partition("=")
    return value.strip() if key.strip().lower() == "cn" else dn


class LdapSignIn:
    def __init__(self, config: LdapConfig) -> None:
        self.config = config

    # --- connections -------------------------------------------------------------------
    def _server(self) -> Any:
        from ldap3 import Server, Tls

        c = self.config
        tls = None
        if c.ca_file or c.url.startswith("ldaps://") or c.starttls:
            tls = Tls(
                ca_certs_file=c.ca_file or None,
                validate=ssl.CERT_REQUIRED,
                version=ssl.PROTOCOL_TLS_CLIENT,
            )
        return Server(c.url, tls=tls, connect_timeout=c.timeout, get_info=None)

    def connect(self, user: str | None = None, password: str | None = None) -> Any:
        """A bound connection, or None when the credentials are refused.
        Raises DirectoryUnavailable when the directory cannot be reached or TLS fails."""
        from ldap3 import Connection
        from ldap3.core.exceptions import LDAPException

        c = self.config
        try:
            conn = Connection(
                self._server(),
                user=user,
                password=password,
                receive_timeout=max(1, math.ceil(c.timeout)),  # ldap3 wants whole seconds
                read_only=True,
                raise_exceptions=False,
            )
            conn.open()
            if c.starttls and not conn.start_tls():
                raise DirectoryUnavailable(f"{c.url}: StartTLS refused ({conn.result})")
            if not conn.bind():
                conn.unbind()
                return None
            return conn
        except LDAPException as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DirectoryUnavailable(
                f"the directory at {c.url} is unreachable: {reason}"
            ) from exc

    def check(self) -> str:
        """A test bind with the service account (or an anonymous one): for `doctor`."""
        c = self.config
        conn = self.connect(c.bind_dn or None, c.bind_password or None)
        if conn is None:
            raise DirectoryUnavailable(f"{c.url}: the service account's bind was refused")
        tls = "LDAPS" if c.url.startswith("ldaps://") else ("StartTLS" if c.starttls else "no TLS")
        conn.unbind()
        return f"{c.url} answers ({tls}); {'service account' if c.bind_dn else 'anonymous'} bind ok"

    # --- sign-in -----------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> LdapUser | None:
        """The user with their groups if the directory accepts the password, else None."""
        from ldap3.utils.conv import escape_filter_chars

        if not password or not _NAME.match(name):
            return None
        c = self.config
        if c.bind_dn:
            dn = self._find(escape_filter_chars(name))
            if dn is None:
                return None
        else:
            from ldap3.utils.dn import escape_rdn

            dn = c.user_dn.format(user=escape_rdn(name))
        conn = self.connect(dn, password)
        if conn is None:
            return None
        try:
            entry = self._entry(conn, dn)
            if entry is None:
                return None
            groups = self._groups(conn, entry)
        finally:
            conn.unbind()
        return LdapUser(name, entry["dn"], groups)

    def _find(self, escaped: str) -> str | None:
        c = self.config
        conn = self.connect(c.bind_dn, c.bind_password)
        if conn is None:
            raise DirectoryUnavailable(
                f"{c.url}: the service account {c.bind_dn} was refused: fix ldap_bind_password"
            )
        try:
            conn.search(c.base_dn, c.user_filter.format(user=escaped), attributes=[])
            found = [r["dn"] for r in conn.response or [] if r.get("type") == "searchResEntry"]
        finally:
            conn.unbind()
        return found[0] if len(found) == 1 else None  # none, or ambiguous: no sign-in

    def _entry(self, conn: Any, dn: str) -> dict[str, Any] | None:
        """The user's own entry (read as the user); None if disabled."""
        from ldap3 import BASE

        c = self.config
        wanted = f"(&(objectClass=*){c.disabled_filter})" if c.disabled_filter else None
        conn.search(dn, "(objectClass=*)", search_scope=BASE, attributes=["memberOf"])
        entries = [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
        if not entries:
            return None
        if wanted:
            conn.search(dn, wanted, search_scope=BASE, attributes=[])
            if any(r.get("type") == "searchResEntry" for r in conn.response or []):
                return None  # disabled in the directory
        return {"dn": entries[0]["dn"], "memberOf": entries[0]["attributes"].get("memberOf", [])}

    def _groups(self, conn: Any, entry: dict[str, Any]) -> frozenset[str]:
        from ldap3.utils.conv import escape_filter_chars

        c = self.config
        if not c.group_filter:
            dns = {str(d) for d in entry["memberOf"]}
        else:
            dns, frontier = set(), [entry["dn"]]
            for _ in range(MAX_NESTING):
                found: set[str] = set()
                for member in frontier:
                    query = c.group_filter.format(dn=escape_filter_chars(member))
                    conn.search(c.group_base_dn or c.base_dn, query, attributes=[])
                    found |= {
                        r["dn"] for r in conn.response or [] if r.get("type") == "searchResEntry"
                    }
                frontier = sorted(found - dns)
                dns |= found
                if not frontier:
                    break
        return frozenset({d.lower() for d in dns} | {_cn(d).lower() for d in dns})
