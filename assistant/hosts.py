"""Whether a host name or address is this machine's loopback: what `serve` may bind to
without login, and where a plain-text connection stays on the machine."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
