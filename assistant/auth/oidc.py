"""Sign-in with an OpenID Connect provider (Keycloak, Entra ID, Authentik...): the
authorization code flow with PKCE (S256), a `state` bound to the browser and a `nonce`
bound to the ID token.

Authlib's OAuth2 client builds the authorization URL and exchanges the code; joserfc
(Authlib's own JOSE library) checks the ID token: signature against the provider's keys,
issuer, audience (this client, and `azp` when there are several), expiry and nonce. The
provider's endpoints come from its discovery document (`ISSUER/.well-known/openid-
configuration`), fetched on first use; nothing is configured by hand but the issuer,
the client and the claims to read.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from assistant.errors import AssistantError

PENDING_SECONDS = 600  # a sign-in must come back from the provider within this
MAX_PENDING = 10_000  # sign-ins started and not finished, kept at most (oldest dropped)
ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


class OidcError(AssistantError):
    """A sign-in that must not succeed (forged state, a bad token) or a provider fault."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str = ""
    scopes: str = "openid profile email"
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    ca_file: str = ""
    timeout: float = 10.0


@dataclass(frozen=True)
class OidcUser:
    name: str
    groups: frozenset[str]
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pending:
    nonce: str
    verifier: str
    redirect_uri: str
    started: float


class OidcSignIn:
    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._meta: dict[str, Any] | None = None
        self._keyset: Any = None
        self._pending: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        verify: Any = self.config.ca_file or True
        return httpx.Client(timeout=self.config.timeout, verify=verify, trust_env=False)

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached); OidcError if unreachable or wrong."""
        if self._meta is None:
            issuer = self.config.issuer.rstrip("/")
            url = f"{issuer}/.well-known/openid-configuration"
            try:
                with self._http() as http:
                    meta = http.get(url).raise_for_status().json()
            except (httpx.HTTPError, ValueError) as exc:
                raise OidcError(f"the OpenID provider at {url} cannot be read: {exc}") from exc
            if meta.get("issuer", "").rstrip("/") != issuer:
                raise OidcError(f"{url} names issuer {meta.get('issuer')!r}, not {issuer!r}")
            self._meta = meta
        return self._meta

    # --- the flow ------------------------------------------------------------------------
    def begin(self, redirect_uri: str) -> tuple[str, str]:
        """(the provider's authorization URL, the state to bind to this browser)."""
        from authlib.integrations.httpx_client import OAuth2Client

        meta = self.metadata()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        client = OAuth2Client(
            self.config.client_id,
            scope=self.config.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
        with self._lock:
            self._drop_stale()
            self._pending[state] = Pending(nonce, verifier, redirect_uri, time.monotonic())
        return url, state

    def _drop_stale(self) -> None:
        now = time.monotonic()
        for key in [k for k, p in self._pending.items() if now - p.started > PENDING_SECONDS]:
            del self._pending[key]
        while len(self._pending) >= MAX_PENDING:
            del self._pending[next(iter(self._pending))]

    def finish(self, code: str, state: str, browser_state: str) -> OidcUser:
        """Check the state against the one this browser started with, exchange the code
        (with the PKCE verifier), check the ID token, and read the user and groups."""
        if not state or not secrets.compare_digest(state.encode(), (browser_state or "").encode()):
            raise OidcError("the sign-in's state does not match this browser: start again")
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or time.monotonic() - pending.started > PENDING_SECONDS:
            raise OidcError("this sign-in is unknown or too old: start again")
        tokens = self._exchange(code, pending)
        claims = self.check_id_token(str(tokens.get("id_token", "")), pending.nonce)
        claims = {**self._userinfo(str(tokens.get("access_token", ""))), **claims}
        return self._user(claims)

    def _exchange(self, code: str, pending: Pending) -> dict[str, Any]:
        from authlib.integrations.base_client.errors import OAuthError
        from authlib.integrations.httpx_client import OAuth2Client

        c = self.config
        verify: Any = c.ca_file or True
        with OAuth2Client(
            c.client_id,
            c.client_secret or None,
            redirect_uri=pending.redirect_uri,
            timeout=c.timeout,
            verify=verify,
            trust_env=False,
        ) as client:
            try:
                return dict(
                    client.fetch_token(
                        self.metadata()["token_endpoint"],
                        code=code,
                        code_verifier=pending.verifier,
                        grant_type="authorization_code",
                    )
                )
            except (OAuthError, httpx.HTTPError, ValueError) as exc:
                raise OidcError(f"the provider refused the sign-in code: {exc}") from exc

    def check_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwt import JWTClaimsRegistry

        if not id_token:
            raise OidcError("the provider sent no ID token")
        c = self.config
        try:
            try:
                token = jwt.decode(id_token, self._keys(), algorithms=ALGORITHMS)
            except JoseError:  # perhaps the provider rotated its keys: fetch them once more
                self._keyset = None
                token = jwt.decode(id_token, self._keys(), algorithms=ALGORITHMS)
            JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": self.metadata()["issuer"]},
                aud={"essential": True, "value": c.client_id},
                exp={"essential": True},
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError, httpx.HTTPError) as exc:
            raise OidcError(f"the ID token is not valid for this client: {exc}") from exc
        aud = token.claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and token.claims.get("azp") != c.client_id:
            raise OidcError("the ID token was issued to another client (azp)")
        return dict(token.claims)

    def _keys(self) -> Any:
        """The provider's signing keys (cached; refreshed when a token needs a new one)."""
        from joserfc.jwk import KeySet

        if self._keyset is None:
            with self._http() as http:
                jwks = http.get(self.metadata()["jwks_uri"]).raise_for_status().json()
            self._keyset = KeySet.import_key_set(jwks)
        return self._keyset

    def _userinfo(self, access_token: str) -> dict[str, Any]:
        """Claims from the userinfo endpoint (groups often live only there)."""
        endpoint = self.metadata().get("userinfo_endpoint")
        if not endpoint or not access_token:
            return {}
        try:
            with self._http() as http:
                auth = {"authorization": f"Bearer {access_token}"}
                return dict(http.get(endpoint, headers=auth).raise_for_status().json())
        except (httpx.HTTPError, ValueError):
            return {}  # the ID token's claims still stand

    def _user(self, claims: dict[str, Any]) -> OidcUser:
        from assistant.auth.directory import _NAME

        c = self.config
        name = str(claims.get(c.username_claim) or "")
        if not _NAME.match(name):
            raise OidcError(
                f"the provider's {c.username_claim!r} claim ({name[:64]!r}) is not a usable user"
                " name: set oidc_username_claim to a claim of letters, digits, . _ @ -"
            )
        raw = claims.get(c.groups_claim) or []
        groups = [raw] if isinstance(raw, str) else list(raw)
        return OidcUser(name, frozenset(str(g).lower() for g in groups), claims)

    def end_session_url(self, return_to: str) -> str | None:
        """Where to send the browser to sign out at the provider too (if it supports it)."""
        endpoint = (self._meta or {}).get("end_session_endpoint")
        if not endpoint:
            return None
        from urllib.parse import urlencode

        query = urlencode(
            {"client_id": self.config.client_id, "post_logout_redirect_uri": return_to}
        )
        return f"{endpoint}?{query}"

    def check(self) -> str:
        """For `doctor`: the discovery document and keys are readable."""
        meta = self.metadata()
        with self._http() as http:
            keys = http.get(meta["jwks_uri"]).raise_for_status().json().get("keys", [])
        tls = "TLS" if self.config.issuer.startswith("https://") else "no TLS"
        return f"{self.config.issuer} answers ({tls}); {len(keys)} signing key(s)"
