"""N people asking at once: concurrent clients over HTTP against a running server.

Each client posts its own question to `/api/ask` (NDJSON stream) and checks its stream:
lines in order (sources, queued places while others are answered, deltas, done), the
final answer exactly the concatenated deltas, and the sources those of its own question
(every question below has a known seed file), so a stream mixed with another's is caught.
Prints, for each number of the engine's parallel slots (`ASSISTANT_SLOTS`), the
throughput (answers a minute) and latency percentiles (time to the sources, to the first
token, to the end), errors, and how often a later arrival was served first (the model's
queue is first come, first served).

    .venv/bin/python bench/load.py                     # 1, 2, 4, 8 slots, a server each
    .venv/bin/python bench/load.py --slots 1,4 --clients 20 --rounds 2
    .venv/bin/python bench/load.py --url http://127.0.0.1:7860 --token TOKEN
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ASSISTANT = str(Path(sys.executable).with_name("assistant"))
QUESTIONS = {  # question -> the seed file that answers it (as in the eval suite)
    "What did the Russian army do in 1812 as it retreated?": "003_28e6aa56330e3488.txt",
    "How fast did Groq deploy Llama 3 after its announcement?": "000_ff4f05a3c6834f76.txt",
    "On what date did the LLaMA weights leak on 4chan?": "004_9034c93824e74505.txt",
    "What is FAIR and who leads it?": "001_5fec047b8f95376e.txt",
}


@dataclass
class Result:
    client: int
    question: str
    sent: float
    sources_s: float | None = None
    first_token_s: float | None = None
    total_s: float | None = None
    finished: float | None = None
    places: list[int] = field(default_factory=list)  # `queued` lines: the place in line
    refused: bool = False  # declined without the model (no supporting passage): no line
    errors: list[str] = field(default_factory=list)


def ask(base: str, token: str, client: int, question: str, start: threading.Event) -> Result:
    start.wait()
    result = Result(client, question, time.perf_counter())
    deltas: list[str] = []
    try:
        with httpx.stream(
            "POST",
            f"{base}/api/ask",
            json={"question": question},
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(10.0, read=900.0),
        ) as response:
            if response.status_code != 200:
                response.read()
                result.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
                return result
            for line in response.iter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                now = time.perf_counter() - result.sent
                kind = event.get("type")
                if kind == "sources":
                    result.sources_s = now
                    files = [Path(s["source"]).name for s in event["sources"]]
                    if QUESTIONS[question] not in files:
                        result.errors.append(f"sources {files} are not this question's")
                elif kind == "queued":
                    result.places.append(event["place"])
                elif kind == "delta":
                    if result.sources_s is None:
                        result.errors.append("a delta before the sources")
                    result.first_token_s = result.first_token_s or now
                    deltas.append(event["text"])
                elif kind == "done":
                    result.total_s = now
                    result.refused = bool(event.get("refused"))
                    if event["answer"] != "".join(deltas).strip() and not event.get("refused"):
                        result.errors.append("the answer is not the text streamed to this client")
                elif kind == "error":
                    result.errors.append(f"error line: {event.get('error')}")
                else:
                    result.errors.append(f"unknown line type {kind!r}")
    except (httpx.HTTPError, json.JSONDecodeError, KeyError) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}")
    result.finished = time.perf_counter()
    if result.total_s is None and not result.errors:
        result.errors.append("the stream ended without a done line")
    return result


def run_round(base: str, token: str, clients: int, stagger: float) -> list[Result]:
    """All clients start together (or `stagger` seconds apart, to measure fairness)."""
    questions = list(QUESTIONS)
    results: list[Result] = []
    lock = threading.Lock()
    starts = [threading.Event() for _ in range(clients)]

    def client(n: int) -> None:
        r = ask(base, token, n, questions[n % len(questions)], starts[n])
        with lock:
            results.append(r)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for event in starts:
        event.set()
        if stagger:
            time.sleep(stagger)
    for t in threads:
        t.join()
    return sorted(results, key=lambda r: r.client)


def overtakes(results: list[Result]) -> int:
    """Pairs of answers from the model where the client that sent later finished earlier
    (by more than 50 ms). A refusal never waits for the model, so it is not counted: it
    finishes at once, ahead of everyone in line."""
    done = [r for r in results if r.finished is not None and not r.refused]
    return sum(
        1
        for a in done
        for b in done
        if a.sent < b.sent - 0.05 and b.finished is not None and a.finished > b.finished + 0.05  # type: ignore[operator]
    )


def pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[int(q) - 1]:.2f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(tmp: Path, port: int) -> dict[str, str]:
    """This process's environment for `assistant serve` on the embedded defaults in `tmp`:
    none of the caller's ASSISTANT_* settings, no config file, the seeds, `port`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return env | {
        "ASSISTANT_DATA_DIR": str(tmp),
        "ASSISTANT_CONFIG": str(tmp / "none.toml"),
        "ASSISTANT_SEED_DIR": str(ROOT / "seeds"),
        "ASSISTANT_PORT": str(port),
    }


def start_server(
    tmp: Path, slots: int, max_tokens: int | None = None
) -> tuple[subprocess.Popen[bytes], str, str]:
    """`assistant serve` on the embedded defaults in a temp data dir, with one user."""
    port = free_port()
    env = server_env(tmp, port) | {
        "ASSISTANT_ANSWER_STYLE": "generated",  # the model's line is what is measured
        "ASSISTANT_SLOTS": str(slots),
        # Every client is the one bench user: lift the per-user limit (2 in flight) and
        # the admission cap so all 20 wait in the model's line, as 20 people would.
        "ASSISTANT_MAX_QUESTIONS_PER_USER": "64",
        "ASSISTANT_MAX_QUESTIONS_IN_FLIGHT": "64",
    }
    if max_tokens:
        env["ASSISTANT_MAX_ANSWER_TOKENS"] = str(max_tokens)
    run = {"env": env, "capture_output": True, "text": True, "check": True}
    subprocess.run([ASSISTANT, "users", "add", "bench", "--admin"], input="bench-pw\n", **run)  # type: ignore[call-overload]
    created = subprocess.run([ASSISTANT, "tokens", "create", "bench"], **run)  # type: ignore[call-overload]
    token = created.stdout.strip()
    server = subprocess.Popen(
        [ASSISTANT, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}).is_success:
                return server, base, token
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    sys.exit("the server did not come up within 5 minutes")


def measure(args: argparse.Namespace, slots: int | None) -> tuple[list[Result], float]:
    """One server (or the given one), warmed by one question, then the rounds of clients."""
    with tempfile.TemporaryDirectory(prefix="assistant-load-") as tmp:
        server = None
        if args.url:
            base, token = args.url.rstrip("/"), args.token or ""
        else:
            server, base, token = start_server(Path(tmp), slots or 1, args.max_answer_tokens)
        try:
            ask(base, token, -1, next(iter(QUESTIONS)), _set())  # warm: model loaded
            started = time.perf_counter()
            results = [
                r
                for _ in range(args.rounds)
                for r in run_round(base, token, args.clients, args.stagger)
            ]
            return results, time.perf_counter() - started
        finally:
            if server is not None:
                server.terminate()
                server.wait(30)


def report(label: str, results: list[Result], wall: float) -> tuple[str, bool]:
    """One table row, and whether every answer was right."""
    ok = [r for r in results if not r.errors]
    first = [r.first_token_s for r in ok if r.first_token_s is not None]
    total = [r.total_s for r in ok if r.total_s is not None]
    told = [r for r in results if r.places]
    furthest = max((r.places[0] for r in told), default=0)
    row = (
        f"| {label} | {len(ok) / wall * 60:.1f} | {pct(first, 50)} | {pct(first, 95)} |"
        f" {pct(total, 50)} | {pct(total, 95)} | {len(results) - len(ok)} |"
        f" {sum(r.refused for r in ok)} | {overtakes(results)} | {len(told)} (up to {furthest}) |"
    )
    for r in results:
        for error in r.errors:
            print(f"  {label}: client {r.client}: {error}")
    return row, len(ok) == len(results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running server (default: start one per slot count)")
    ap.add_argument("--token", default=os.environ.get("ASSISTANT_TOKEN"), help="API token")
    ap.add_argument("--slots", default="1,2,4,8", help="slot counts to start servers with")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--max-answer-tokens", type=int, help="the server's max_answer_tokens")
    ap.add_argument("--stagger", type=float, default=0.1, help="seconds between client starts")
    args = ap.parse_args()
    counts: list[int | None] = [None] if args.url else [int(n) for n in args.slots.split(",")]
    rows, all_ok = [], True
    for slots in counts:
        results, wall = measure(args, slots)
        row, ok = report("given server" if slots is None else f"{slots} slots", results, wall)
        rows.append(row)
        all_ok = all_ok and ok
        print(row, flush=True)
    limit = f"max_answer_tokens {args.max_answer_tokens or 'default'}"
    print(f"\n{args.clients} clients x {args.rounds} round(s), {args.stagger} s apart, {limit};")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end\n")
    print(
        "| engine | answers/min | first token p50 s | p95 s | whole answer p50 s | p95 s |"
        " errors | refused | later arrival finished first | told their place (furthest) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    sys.exit(0 if all_ok else 1)


def _set() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


if __name__ == "__main__":
    main()
