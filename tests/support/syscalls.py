"""The air-gap's second witness: the kernel. `strace` records every `connect` and `send*`
system call of a process and all its threads and children, native code included.

The Python audit hook (`audit_sockets.py`) sees only what goes through Python's socket
module; a compiled library does its own networking. ONNX Runtime 1.32 did: its built-in
telemetry looked up Microsoft's collector from C++, and only this caught it.

    traced(log, command)      # the shell command, under strace
    left_the_machine(log)     # each call that aimed beyond loopback, or at a DNS server
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

CALLS = "connect,sendto,sendmsg,sendmmsg"
# An address in strace's rendering of a sockaddr (IPv4, IPv6), and its port.
_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")


def traced(log: Path, command: str) -> str:
    """`command` (a shell command line) run under strace, adding the calls to `log`. Only
    the network calls are stopped at (seccomp), so the process runs at full speed. Stop it
    by signalling strace's child (`pkill -P`): strace itself, signalled, lets it run on."""
    return f"strace -f -qq -A --seccomp-bpf -e trace={CALLS} -e signal=none -o '{log}' {command}"


def left_the_machine(log: Path) -> list[str]:
    """The calls that tried to reach another machine: an IPv4/IPv6 address that is not
    loopback, or port 53 anywhere (a name lookup, even through a local resolver)."""
    found = []
    for line in log.read_text().splitlines():
        if "AF_INET" not in line:
            continue  # AF_UNIX (the engine's socket), AF_NETLINK (interfaces)
        address = _ADDRESS.search(line)
        port = _PORT.search(line)
        if address is None:
            continue  # a send on a socket connected before: its connect was judged
        ip = ipaddress.ip_address(address.group(1) or address.group(2))
        ip = getattr(ip, "ipv4_mapped", None) or ip  # ::ffff:127.0.0.1 is loopback too
        if not ip.is_loopback or (port and port.group(1) == "53"):
            found.append(line.split(None, 1)[1][:200])
    return found
