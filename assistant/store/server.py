"""A Chroma server as the store (`chroma_url`): the HTTP client, its auth header, and one
clear error when the server cannot be reached.

The client connects on first use and again after a failure, so a web UI started while
the server is down, or kept running while it restarts, works as soon as it is back. Every
call through `ServerClient` (and the collections it returns) that fails to reach the
server becomes `BackendUnavailable` naming the URL and the setting to check; Chroma's own
errors (no such collection, a bad name) pass through unchanged.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from assistant.errors import AssistantError, BackendUnavailable, one_line


@dataclass(frozen=True)
class ChromaServer:
    """Where the server is and how to authenticate (settings chroma_url, chroma_token,
    chroma_auth_header)."""

    url: str
    token: str | None = field(default=None, repr=False)
    auth_header: str = "Authorization"
    connect_timeout: float = 5.0  # seconds to open a connection
    read_timeout: float = 60.0  # seconds to wait for any answer: a hung server is an error

    def timeout(self) -> Any:
        import httpx

        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)

    @classmethod
    def from_settings(cls, s: Any) -> ChromaServer:
        """From the settings (chroma_url, chroma_token, chroma_auth_header, timeouts)."""
        token = s.chroma_token.get_secret_value() if s.chroma_token else None
        timeouts = (s.chroma_connect_timeout, s.chroma_read_timeout)
        return cls(s.chroma_url, token, s.chroma_auth_header, *timeouts)

    def headers(self) -> dict[str, str]:
        """The auth header sent with every request: `Authorization: Bearer TOKEN` (what
        Chroma's own token auth and most reverse proxies expect) or `X-Chroma-Token: TOKEN`."""
        if not self.token:
            return {}
        if self.auth_header == "Authorization":
            return {"Authorization": f"Bearer {self.token}"}
        return {self.auth_header: self.token}

    def check(self) -> None:
        """A malformed URL is a settings error, before any connection is tried."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AssistantError(
                f"ASSISTANT_CHROMA_URL '{self.url}' is not a server URL: use e.g."
                " http://chroma.internal:8000 (or leave it empty for the embedded store)"
            )
        try:
            parts.port  # noqa: B018  (raises on a bad port)
        except ValueError as exc:
            raise AssistantError(f"ASSISTANT_CHROMA_URL '{self.url}': {exc}") from exc

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Turn a failure to reach or use the server into one actionable error."""
        import httpx
        from chromadb.errors import ChromaAuthError, InternalError

        try:
            yield
        except ChromaAuthError as exc:
            raise BackendUnavailable(
                f"the Chroma server at {self.url} refused the credentials ({exc.message()}):"
                " check ASSISTANT_CHROMA_TOKEN and ASSISTANT_CHROMA_AUTH_HEADER"
            ) from exc
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(self.timed_out(exc)) from exc
        except (httpx.TransportError, ConnectionError) as exc:
            raise BackendUnavailable(
                f"cannot reach the Chroma server at {self.url} ({_reason(exc)}): start it,"
                " or fix ASSISTANT_CHROMA_URL; nothing stored was changed by this failure"
            ) from exc
        except InternalError as exc:
            raise BackendUnavailable(
                f"the Chroma server at {self.url} failed: {exc.message()}"
            ) from exc
        except Exception as exc:
            # chromadb raises a bare Exception(body) for an HTTP error without Chroma's
            # error body: what a reverse proxy in front of the server answers (401, 502).
            if type(exc) is not Exception:
                raise
            raise BackendUnavailable(
                f"the Chroma server at {self.url} answered with an error ({_reason(exc)}):"
                " check ASSISTANT_CHROMA_URL, ASSISTANT_CHROMA_TOKEN and"
                " ASSISTANT_CHROMA_AUTH_HEADER"
            ) from exc

    def timed_out(self, exc: BaseException) -> str:
        import httpx

        if isinstance(exc, httpx.ConnectTimeout):
            waited, setting = self.connect_timeout, "ASSISTANT_CHROMA_CONNECT_TIMEOUT"
        else:
            waited, setting = self.read_timeout, "ASSISTANT_CHROMA_READ_TIMEOUT"
        return (
            f"the Chroma server at {self.url} did not answer within {waited:g} s: check that"
            f" it is up and not overloaded (ASSISTANT_CHROMA_URL), or raise {setting}"
        )


class ServerClient:
    """A chromadb HttpClient made on first use, whose calls raise `BackendUnavailable`
    instead of transport errors (and whose collections do the same)."""

    def __init__(self, server: ChromaServer) -> None:
        server.check()
        self.server = server
        self._client: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        with self._lock:
            if self._client is None:
                import chromadb
                from chromadb.config import Settings as ChromaSettings

                self._heartbeat()
                try:
                    client = chromadb.HttpClient(
                        host=self.server.url.rstrip("/"),
                        headers=self.server.headers(),  # chromadb adds to it: a copy
                        settings=ChromaSettings(anonymized_telemetry=False),
                    )
                    _set_timeout(client, self.server.timeout())
                    self._client = client
                except Exception as exc:
                    # chromadb wraps a failed first request in ValueError: report the cause
                    cause = exc.__context__ if isinstance(exc, ValueError) else exc
                    try:
                        with self.server.translated():
                            raise cause or exc
                    except BackendUnavailable:
                        raise
                    except Exception:
                        raise BackendUnavailable(
                            f"cannot connect to the Chroma server at {self.server.url}"
                            f" ({_reason(exc)}): check ASSISTANT_CHROMA_URL"
                        ) from exc
            return self._client

    def __getattr__(self, name: str) -> Any:
        return _guard(getattr(self._connect(), name), self.server)

    def _heartbeat(self) -> None:
        """One request with the timeouts before chromadb's client is made: its constructor
        talks to the server with no timeout at all, so a hung server would block it."""
        import httpx

        url = f"{self.server.url.rstrip('/')}/api/v2/heartbeat"
        with self.server.translated():
            httpx.get(url, headers=self.server.headers(), timeout=self.server.timeout())


def _set_timeout(client: Any, timeout: Any) -> None:
    """chromadb 1.5's HTTP client makes its httpx session with `timeout=None` and offers no
    setting: set the timeouts on that session (tests/test_chroma_server.py proves it)."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is None:
        raise AssistantError("this chromadb version has no HTTP session to set timeouts on")
    session.timeout = timeout


class _GuardedCollection:
    """A Chroma collection whose calls raise `BackendUnavailable` on a transport error."""

    def __init__(self, collection: Any, server: ChromaServer) -> None:
        self._collection = collection
        self._server = server

    def __getattr__(self, name: str) -> Any:
        return _guard(getattr(self._collection, name), self._server)


def _guard(value: Any, server: ChromaServer) -> Any:
    if not callable(value):
        return value

    @functools.wraps(value)
    def call(*args: Any, **kwargs: Any) -> Any:
        with server.translated():
            result = value(*args, **kwargs)
        return _wrap(result, server)

    return call


def _wrap(result: Any, server: ChromaServer) -> Any:
    from chromadb.api.models.Collection import Collection

    return _GuardedCollection(result, server) if isinstance(result, Collection) else result


def _reason(exc: BaseException) -> str:
    return one_line(exc)[:200]
