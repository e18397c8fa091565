"""Run `assistant ARGS...` with a Python audit hook that logs every attempt to reach a host.

    python tests/support/audit_sockets.py LOG assistant-args...
    python tests/support/audit_sockets.py LOG --probe HOST   # the control: try to resolve HOST

Each `socket.connect`, `socket.getaddrinfo`, `socket.sendto`/`sendmsg` and
`http.client.connect` event is appended to LOG as one JSON line, before it happens, so an
attempt that fails (as it does in a network namespace) is still recorded. Audit hooks see
every thread and every library that goes through Python's socket module, and name the
host; native code that does its own networking (ONNX Runtime's telemetry did) is seen only
by strace, the other witness (`syscalls.py`).
"""

from __future__ import annotations

import json
import sys
import threading

EVENTS = {"socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.sendmsg"}
_lock = threading.Lock()


def main() -> None:
    log_path, args = sys.argv[1], sys.argv[2:]
    log = open(log_path, "a", buffering=1)  # noqa: SIM115  (open for the process's life)

    def hook(event: str, payload: tuple) -> None:
        if event in EVENTS:
            target = payload[1] if event != "socket.getaddrinfo" else payload[:2]
        elif event == "http.client.connect":
            target = payload[1:3]
        else:
            return
        if isinstance(target, tuple | list):
            target = [t if isinstance(t, str | int) or t is None else repr(t) for t in target]
        elif not isinstance(target, str):  # AF_UNIX paths arrive as str or bytes
            target = repr(target)
        with _lock:
            log.write(json.dumps({"event": event, "target": target}) + "\n")

    sys.addaudithook(hook)
    if args[:1] == ["--probe"]:
        import contextlib
        import socket

        with contextlib.suppress(OSError):  # no route in the namespace: the attempt counts
            socket.getaddrinfo(args[1], 443)
        return
    from assistant.cli import main as assistant

    sys.argv = ["assistant", *args]
    assistant()


if __name__ == "__main__":
    main()
