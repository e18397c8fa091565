"""Proof of the air-gap: every way in (ingest, ask, eval, the served UI and its API) runs in
a network namespace with loopback only, watched twice: by a Python audit hook that records
every attempt to resolve or reach a host, and by strace, which sees the system calls of
native code too (`support/syscalls.py`). The product must work there, and must never even
try to reach anything but this machine (no telemetry, no update check, no model download).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.net import free_port
from support.paths import ROOT, SEED_SUITE, SEEDS
from support.syscalls import left_the_machine, traced

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("unshare"), reason="needs util-linux unshare"),
]

AUDIT = str(ROOT / "tests" / "support" / "audit_sockets.py")
SUITE = SEED_SUITE


# Variables a shell or an image might carry that would switch a library's telemetry on,
# each pointed at a host outside: the product must override every one of them.
STRAY_TELEMETRY = {
    "ANONYMIZED_TELEMETRY": "True",
    "GRADIO_ANALYTICS_ENABLED": "True",
    "HF_HUB_OFFLINE": "0",
    "FASTAPI_OTEL_AUTO_CONFIGURE": "true",
    "OTEL_SDK_DISABLED": "false",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://telemetry.example.com:4318",
    "OTEL_METRIC_EXPORT_INTERVAL": "1000",
    "OTEL_BSP_SCHEDULE_DELAY": "100",
    "ORT_DISABLE_TELEMETRY": "0",
}


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        STRAY_TELEMETRY,
        ASSISTANT_DATA_DIR=str(data_dir),
        ASSISTANT_SEED_DIR=str(SEEDS),
        ASSISTANT_CONFIG=str(data_dir / "absent.toml"),
    )
    return env


def offline(script: str) -> list[str]:
    """A shell script in a new network namespace with only loopback up."""
    return ["unshare", "-n", "sh", "-c", f"ip link set lo up && {script}"]


def audited(log: Path, *args: str) -> str:
    """`assistant ARGS` under both witnesses: the audit hook writes `log`, strace the file
    beside it (`reached` reads both)."""
    quoted = " ".join(f"'{a}'" for a in args)
    return "exec " + traced(_calls(log), f"'{sys.executable}' '{AUDIT}' '{log}' {quoted}")


def _calls(log: Path) -> Path:
    return log.with_suffix(".syscalls")


def reached(log: Path) -> list[tuple[str, object]]:
    """Every target, audited or traced, that is not this machine."""
    found: list[tuple[str, object]] = [("syscall", c) for c in left_the_machine(_calls(log))]
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        target = entry["target"]
        if isinstance(target, list) and target and isinstance(target[0], str):
            host = target[0]
            if host in ("localhost", "") or host.startswith("/"):
                continue
            try:
                if ipaddress.ip_address(host.split("%")[0]).is_loopback:
                    continue
            except ValueError:
                pass
            found.append((entry["event"], target))
        elif isinstance(target, list):
            found.append((entry["event"], target))
    return found


def test_the_audit_hook_catches_an_attempt_to_leave_the_machine(tmp_path):
    """The control: without it, an empty log would prove nothing."""
    log = tmp_path / "audit.log"
    subprocess.run(offline(audited(log, "--probe", "telemetry.example.com")), check=True)
    found = reached(log)
    assert found[-1] == ("socket.getaddrinfo", ["telemetry.example.com", 443])
    assert found[:-1] and all(event == "syscall" for event, _ in found[:-1])  # the lookup


def test_strace_catches_what_native_code_does_behind_the_audit_hook(tmp_path):
    """The control for native code: a C program's name lookup (glibc's, as ONNX Runtime's
    telemetry made) never passes through Python, so only the kernel's witness sees it."""
    calls = tmp_path / "native.syscalls"
    subprocess.run(offline(traced(calls, "getent hosts telemetry.example.com || true")))
    found = left_the_machine(calls)
    assert found and all("htons(53)" in call for call in found), found


def test_ingest_ask_and_eval_work_offline_and_reach_nothing(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "canteen.md").write_text("# Canteen\n\nThe canteen serves soup on Fridays.\n")
    log = tmp_path / "audit.log"
    env = environment(tmp_path / "data")
    steps = [
        ("ask", "--json", "Who leads FAIR at Meta?"),  # first start: seeds the store
        ("ingest", "--json", str(docs)),
        ("eval", "run", str(SUITE), "--retrieval-only", "--out", str(tmp_path / "report")),
        ("docs", "--json"),
    ]
    for args in steps:
        result = subprocess.run(
            offline(audited(log, *args)), capture_output=True, text=True, env=env, timeout=900
        )
        assert result.returncode == 0, (args, result.stderr[-2000:])
    answer = json.loads(
        subprocess.run(
            offline(audited(log, "ask", "--json", "What does the canteen serve on Fridays?")),
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        ).stdout
    )
    assert any(s["source"].endswith("canteen.md") for s in answer["sources"])
    assert reached(log) == []


def test_the_served_ui_and_its_api_work_offline_and_reach_nothing(tmp_path):
    """`assistant serve` in the namespace; a client in the same namespace loads the page and
    asks through the API (the test's own process is outside it, so it runs a small script)."""
    log = tmp_path / "audit.log"
    port = free_port()
    env = environment(tmp_path / "data") | {"ASSISTANT_PORT": str(port)}
    client = f"""
import json, sys, time, urllib.request
from gradio_client import Client
url = "http://127.0.0.1:{port}/"
for _ in range(600):
    try:
        page = urllib.request.urlopen(url, timeout=5).read().decode()
        break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit("the server never came up")
reply = Client(url, verbose=False).predict("Who leads FAIR at Meta?", api_name="/ask")
print(json.dumps({{"page": len(page), "reply": reply}}))
"""
    (tmp_path / "client.py").write_text(client)
    server = audited(log, "serve")
    script = (
        f"{server.removeprefix('exec ')} & server=$!; "
        f"'{sys.executable}' '{tmp_path / 'client.py'}'; status=$?; "
        "pkill -TERM -P $server; wait $server; exit $status"  # strace's child: the server
    )
    result = subprocess.run(offline(script), capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["page"] > 1000
    assert out["reply"]["sources"] and out["reply"]["done"]
    assert reached(log) == []
