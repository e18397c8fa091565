"""Loopback ports for servers the tests start (and for addresses where nothing listens)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens: connecting is refused at once."""
    return f"http://127.0.0.1:{free_port()}"
