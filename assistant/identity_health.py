"""`assistant doctor`'s checks of identity and accountability: the LDAP directory
(reachable, TLS, a test bind), the OpenID provider (discovery, TLS, signing keys) and the
audit trail's chain, each failure with the fix in one line. Nothing is changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

from assistant.errors import AssistantError, one_line
from assistant.hosts import is_loopback
from assistant.settings import Settings


class Check(NamedTuple):
    """One line of `doctor` (health.py makes its own `Check` of it: no import cycle)."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _local(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


def identity_checks(s: Settings) -> Iterator[Check]:
    if s.ldap_url:
        yield _ldap(s)
    if s.oidc_issuer:
        yield _oidc(s)
    if s.audit:
        yield _audit(s)


def _ldap(s: Settings) -> Check:
    from assistant.factory import Components

    name = "directory (LDAP)"
    if not (s.ldap_user_dn or s.ldap_bind_dn):
        return Check(name, False, "neither ldap_user_dn nor ldap_bind_dn is set",
                     "set ASSISTANT_LDAP_USER_DN (bind as the user) or ASSISTANT_LDAP_BIND_DN"
                     " with ASSISTANT_LDAP_BIND_PASSWORD (search, then bind)")  # fmt: skip
    tls = s.ldap_url.startswith("ldaps://") or s.ldap_starttls
    if not tls and not _local(s.ldap_url):
        return Check(name, False, f"{s.ldap_url}: passwords would cross the network in clear",
                     "use an ldaps:// URL or ASSISTANT_LDAP_STARTTLS=true, with"
                     " ASSISTANT_LDAP_CA_FILE")  # fmt: skip
    sign_in = Components(s).ldap
    assert sign_in is not None
    try:
        return Check(name, True, sign_in.check())
    except AssistantError as exc:
        reason = one_line(exc)
        if any(w in reason.lower() for w in ("certificate", "ssl", "tls")):
            fix = "set ASSISTANT_LDAP_CA_FILE to the CA certificate that signed the server's"
        elif "bind was refused" in reason or "service account" in reason:
            fix = "fix ASSISTANT_LDAP_BIND_DN / ASSISTANT_LDAP_BIND_PASSWORD"
        else:
            fix = "start the directory server, or fix ASSISTANT_LDAP_URL (host, port, firewall)"
        return Check(name, False, reason, fix)


def _oidc(s: Settings) -> Check:
    from assistant.factory import Components

    name = "directory (OpenID)"
    if not s.oidc_client_id:
        return Check(name, False, "oidc_client_id is empty",
                     "register this assistant at the provider and set ASSISTANT_OIDC_CLIENT_ID"
                     " (and ASSISTANT_OIDC_CLIENT_SECRET)")  # fmt: skip
    if s.oidc_issuer.startswith("http://") and not _local(s.oidc_issuer):
        return Check(name, False, f"{s.oidc_issuer}: the provider is reached without TLS",
                     "use the provider's https:// issuer URL")  # fmt: skip
    sign_in = Components(s).oidc
    assert sign_in is not None
    try:
        return Check(name, True, sign_in.check())
    except AssistantError as exc:
        return Check(name, False, one_line(exc),
                     "fix ASSISTANT_OIDC_ISSUER (the URL before /.well-known/openid-configuration),"
                     " or ASSISTANT_OIDC_CA_FILE if its certificate is not trusted")  # fmt: skip
    except Exception as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}",
                     "check the provider is up and ASSISTANT_OIDC_ISSUER is right")  # fmt: skip


def _audit(s: Settings) -> Check:
    from assistant.factory import Components

    trail = Components(s).trail
    assert trail is not None
    verdict = trail.verify()
    if verdict.ok:
        return Check("audit trail", True, f"{verdict.records} records, chain intact")
    return Check("audit trail", False, verdict.problem,
                 "a record was altered or removed outside the assistant: investigate; export"
                 " what is left (`assistant audit export`) before anything else")  # fmt: skip
