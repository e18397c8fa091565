"""Floods against a real server, and what a normal user sees meanwhile (issue 12).

Starts `assistant serve` (login on, temp data dir, the packaged model) on loopback, then
runs one phase after another, each bounded in time and in requests:

- no flood: the baseline;
- login flood: wrong passwords under fresh names from fresh addresses (X-Forwarded-For,
  believed from loopback, the default trusted proxy): a distributed guesser;
- over-long questions: a signed-in user posts 1 MB questions to /api/ask;
- upload flood: a signed-in owner posts 1 MB files to /gradio_api/upload.

During every phase alice asks, one after another, questions the documents do not cover,
and the time until her `sources` line arrives is recorded: the whole path up to that line
(gate, embedding, vector and keyword search, relevance gate) runs as for any question,
but no model answer follows, so she asks several times a second instead of once per
answer (on 2 CPU cores an answer takes seconds to minutes under load, which would leave
a handful of samples). Prints per phase: requests sent and their statuses, alice's
time-to-sources p50/p95, and the server's peak RSS (VmRSS sampled
every 0.1 s). The server gets a 100 MB upload quota, so the upload flood meets it.

    .venv/bin/python bench/abuse.py                  # 4 phases of 30 s
    .venv/bin/python bench/abuse.py --seconds 8      # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import ASSISTANT, free_port, server_env

MAX_REQUESTS = 5000  # per flood, whatever its speed
OFF_TOPIC = [  # retrieved, gated, refused: no model answer to wait for
    "What is the boiling point of tungsten in kelvin?",
    "Who won the 1998 football world cup?",
    "How do I bake sourdough bread?",
    "What is the capital of Australia?",
]
WORKERS = 32
Flood = Callable[[str, dict[str, str], float, Counter[int]], Awaitable[None]]


@dataclass
class Phase:
    name: str
    statuses: Counter[int] = field(default_factory=Counter)
    sources_s: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    port = free_port()
    env = server_env(tmp, port) | {
        "ASSISTANT_CHAT_LOG": "false",
        "ASSISTANT_UPLOAD_QUOTA_MB": "100",
        "GRADIO_TEMP_DIR": str(tmp / "gradio"),
    }
    run = {"env": env, "capture_output": True, "text": True, "check": True}

    def cli(*args: str, stdin: str | None = None) -> str:
        return subprocess.run([ASSISTANT, *args], input=stdin, **run).stdout.strip()  # type: ignore[call-overload]

    cli("users", "add", "alice", "-g", "staff", stdin="alice-pass-1\n")
    cli("users", "add", "mallory", "-g", "staff", "-g", "scratch", stdin="mallory-pass-1\n")
    cli("groups", "grant", "staff", "documents")
    cli("groups", "grant", "scratch", "scratch", "--role", "owner")
    tokens = {u: cli("tokens", "create", u) for u in ("alice", "mallory")}
    server = subprocess.Popen(
        [ASSISTANT, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz").is_success:
                return server, base, tokens
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    sys.exit("the server did not come up within 5 minutes")


def time_to_sources(base: str, token: str, question: str) -> float | None:
    """Seconds until the `sources` line (the rest of the answer is read too, so the next
    question does not wait for this one's place); None when told to come back."""
    started = time.perf_counter()
    headers = {"authorization": f"Bearer {token}"}
    with (
        httpx.Client(timeout=120) as c,
        c.stream("POST", f"{base}/api/ask", json={"question": question}, headers=headers) as r,
    ):
        if r.status_code in (429, 503):
            return None
        took = None
        for line in r.iter_lines():
            if took is None and '"sources"' in line:
                took = time.perf_counter() - started
        if took is None:
            raise RuntimeError(f"alice got {r.status_code} and no sources")
        return took


async def _workers(deadline: float, send: Callable[[int], Awaitable[int]], seen: Counter[int]):
    sent = 0

    async def worker() -> None:
        nonlocal sent
        while time.monotonic() < deadline and sent < MAX_REQUESTS:
            sent += 1
            try:
                seen[await send(sent)] += 1
            except httpx.HTTPError:
                seen[-1] += 1  # connection refused or dropped
                await asyncio.sleep(0.01)

    await asyncio.gather(*(worker() for _ in range(WORKERS)))


async def login_flood(base: str, tokens: dict[str, str], seconds: float, seen: Counter[int]):
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:

        async def send(n: int) -> int:
            data = {"username": f"guess-{n}", "password": "wrong-password"}
            ip = {"x-forwarded-for": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"}
            return (await c.post("/login", data=data, headers=ip)).status_code

        await _workers(time.monotonic() + seconds, send, seen)


async def long_question_flood(base: str, tokens: dict[str, str], seconds: float, seen):
    question = "Why? " * 200_000  # 1 MB
    headers = {"authorization": f"Bearer {tokens['mallory']}"}
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as c:

        async def send(n: int) -> int:
            return (await c.post("/api/ask", json={"question": question})).status_code

        await _workers(time.monotonic() + seconds, send, seen)


async def upload_flood(base: str, tokens: dict[str, str], seconds: float, seen):
    body = os.urandom(2**20)
    headers = {"authorization": f"Bearer {tokens['mallory']}"}
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as c:

        async def send(n: int) -> int:
            files = {"files": (f"junk-{n}.txt", body, "text/plain")}
            return (await c.post("/gradio_api/upload", files=files)).status_code

        await _workers(time.monotonic() + seconds, send, seen)


def run_phase(
    name: str, flood: Flood | None, server: subprocess.Popen[bytes], base: str, tokens, seconds
) -> Phase:
    phase = Phase(name)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            phase.peak_rss_mb = max(phase.peak_rss_mb, rss_mb(server.pid))
            stop.wait(0.1)

    def alice() -> None:
        n = 0
        while not stop.is_set():
            took = time_to_sources(base, tokens["alice"], OFF_TOPIC[n % 4])
            if took is not None:
                phase.sources_s.append(took)
            n += 1
            stop.wait(0.1)

    threads = [threading.Thread(target=sample), threading.Thread(target=alice)]
    for t in threads:
        t.start()
    try:
        if flood is None:
            time.sleep(seconds)
        else:
            asyncio.run(flood(base, tokens, seconds, phase.statuses))
    finally:
        stop.set()
        for t in threads:
            t.join(180)
    return phase


def pct(values: list[float], q: int) -> str:
    if len(values) < 2:
        return f"{values[0]:.2f}" if values else "-"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[q - 1]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30, help="length of each phase")
    args = ap.parse_args()
    phases: list[tuple[str, Flood | None]] = [
        ("no flood", None),
        ("login flood (wrong passwords, fresh names and addresses)", login_flood),
        ("over-long questions (1 MB each, signed in)", long_question_flood),
        ("upload flood (1 MB files to /gradio_api/upload)", upload_flood),
    ]
    with tempfile.TemporaryDirectory(prefix="assistant-abuse-") as tmp:
        server, base, tokens = start_server(Path(tmp))
        try:
            time_to_sources(base, tokens["alice"], OFF_TOPIC[0])  # warm up
            rows = [run_phase(n, f, server, base, tokens, args.seconds) for n, f in phases]
        finally:
            server.terminate()
            server.wait(30)
    print(
        f"| phase ({args.seconds:.0f} s each, {WORKERS} attackers) | requests: statuses |"
        " alice's time to sources p50 / p95 s (asks) | server peak RSS MiB |"
    )
    print("|---|---|---|---|")
    for p in rows:
        counts = ", ".join(
            f"{n} x {s if s > 0 else 'error'}" for s, n in sorted(p.statuses.items())
        )
        print(
            f"| {p.name} | {sum(p.statuses.values())}: {counts or '-'} |"
            f" {pct(p.sources_s, 50)} / {pct(p.sources_s, 95)} ({len(p.sources_s)}) |"
            f" {p.peak_rss_mb:.0f} |"
        )


if __name__ == "__main__":
    main()
