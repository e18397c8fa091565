"""The two in-process engines side by side: llama-cpp-python and xllamacpp.

Each engine runs in its own child process (so RSS is its own) on the packaged GGUF with
the same settings (context, threads, sampling) and the same prompts, shaped like the
product's: the system prompt and four ~700-character sources from `seeds/` (~700 tokens).
Every prompt is computed from scratch (no KV-cache reuse) for TTFT and decode speed; then,
for xllamacpp, the same prompts with its prompt cache on (the system prompt is shared) and
a follow-up question after a first answer, with and without the cache. Install time: a
`pip install` of each engine into a throwaway venv, from an empty pip cache (download) and
from pip's own cache; a cold install of llama-cpp-python compiles llama.cpp and is only
measured with --cold-compile (about 10 minutes on 2 cores).

    .venv/bin/python bench/engine_bench.py               # ~3 minutes on 2 cores
    .venv/bin/python bench/engine_bench.py --prompts 2 --no-install
    .venv/bin/python bench/engine_bench.py --batching   # 1, 2, 4, 8 answers decoded at once
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answering import build_messages  # noqa: E402
from assistant.settings import Settings  # noqa: E402

ENGINES = ("llama-cpp-python", "xllamacpp")
PINS = {"llama-cpp-python": "llama-cpp-python==0.3.36", "xllamacpp": "xllamacpp==2026.10.11549"}
QUESTIONS = [
    "When was Llama 2 released, and under what licence?",
    "Who leads FAIR at Meta?",
    "How fast did Groq deploy Llama 3 after its announcement?",
    "On what date did the LLaMA weights leak on 4chan?",
    "What did the Russian army do in 1812 as it retreated?",
]


def prompts(n: int) -> list[list[dict[str, str]]]:
    """Product-shaped prompts: four sources cut from the seed files, then a question."""
    texts = [p.read_text() for p in sorted((ROOT / "seeds").glob("*.txt"))]
    out = []
    for i in range(n):
        blocks = [f"[{k + 1}] ({k}.txt)\n{_cut(texts[(i + k) % len(texts)], i)}" for k in range(4)]
        out.append(build_messages(QUESTIONS[i % len(QUESTIONS)], blocks))
    return out


def _cut(text: str, i: int) -> str:
    start = (700 * i) % max(1, len(text) - 700)
    return text[start : start + 700]


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def timed(pieces: Any) -> dict[str, float]:
    """Time to the first piece and decode rate after it (one streamed piece = one token),
    and the CPU time the whole request took (all threads): on a machine shared with other
    jobs wall time swings with their load, CPU time much less."""
    start, cpu = time.perf_counter(), time.process_time()
    first = last = None
    n = 0
    for _ in pieces:
        last = time.perf_counter()
        first = first or last
        n += 1
    if first is None or last is None:
        return {"ttft_s": float("nan"), "tok_s": float("nan"), "tokens": 0, "cpu_s": float("nan")}
    rate = (n - 1) / (last - first) if n > 1 and last > first else float("nan")
    return {"ttft_s": first - start, "tok_s": rate, "tokens": n, "cpu_s": time.process_time() - cpu}


def child(engine: str, n: int, max_tokens: int) -> dict[str, Any]:
    """Run in the engine's own process: load, then every prompt cold; xllamacpp also warm."""
    from assistant.llm import make_chat_model

    settings = Settings(llamacpp_engine=engine, slots=1, auto_seed=False)  # type: ignore[arg-type]
    started = time.perf_counter()
    model = make_chat_model(settings)
    result: dict[str, Any] = {"load_s": time.perf_counter() - started}
    result["rss_loaded_mib"] = rss_mib()[0]
    cold, warm = [], []
    for messages in prompts(n):
        if engine == "xllamacpp":
            model._sampling["cache_prompt"] = False  # type: ignore[attr-defined]
        else:
            model._llm.reset()  # type: ignore[attr-defined]
        cold.append(timed(model.stream(messages, max_tokens=max_tokens)))
    if engine == "xllamacpp":
        model._sampling["cache_prompt"] = True  # type: ignore[attr-defined]
        for messages in prompts(n):
            warm.append(timed(model.stream(messages, max_tokens=max_tokens)))
        result["follow_up"] = follow_up(model, max_tokens)
    result["cold"], result["warm"] = cold, warm
    result["rss_peak_mib"] = rss_mib()[1]
    return result


def follow_up(model: Any, max_tokens: int) -> dict[str, float]:
    """TTFT of a follow-up (the first exchange, then a new question) without and with the
    engine's prompt cache: with it, only the new question is computed."""
    first = prompts(1)[0]
    answer = "".join(model.stream(first, max_tokens=max_tokens))
    turn = [*first, {"role": "assistant", "content": answer}]
    turn.append({"role": "user", "content": "And who else was involved?"})
    out = {}
    for label, cache in (("without_cache", False), ("with_cache", True)):
        model._sampling["cache_prompt"] = True
        "".join(model.stream(first, max_tokens=max_tokens))  # the slot holds the first turn
        model._sampling["cache_prompt"] = cache
        out[label] = timed(model.stream(turn, max_tokens=8))["ttft_s"]
    out["prompt_tokens"] = model.count_tokens(turn)
    return out


def batching(max_tokens: int) -> None:
    """xllamacpp with 8 slots: 1, 2, 4, 8 answers decoded at once. Wall-clock tokens/s in
    total, and CPU milliseconds per generated token (all threads), which is what batching
    saves when decode is memory-bound and cannot save when it is compute-bound."""
    import threading

    from assistant.llm import make_chat_model

    model: Any = make_chat_model(Settings(slots=8, auto_seed=False))
    model._sampling["cache_prompt"] = False
    print("| answers at once | tokens/s in total (wall) | CPU ms per token | per answer tok/s |")
    print("|---|---|---|---|")
    for n in (1, 2, 4, 8):
        counts = [0] * n

        def run(i: int, counts: list[int] = counts) -> None:
            ask = [{"role": "user", "content": f"Tell me a long story about dragon {i}."}]
            for _ in model.stream(ask, max_tokens=max_tokens):
                counts[i] += 1

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        wall, cpu = time.perf_counter(), time.process_time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        total = sum(counts)
        print(
            f"| {n} | {total / wall:.1f} | {1000 * cpu / total:.0f} | {total / wall / n:.1f} |",
            flush=True,
        )


def install_time(engine: str, cache: str | None) -> float:
    """Seconds for `pip install` of the engine into a fresh venv; cache None = empty cache."""
    with tempfile.TemporaryDirectory(prefix="engine-install-") as tmp:
        subprocess.run([sys.executable, "-m", "venv", f"{tmp}/venv"], check=True)
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "PIP_CACHE_DIR": cache or f"{tmp}/cache"}
        start = time.perf_counter()
        subprocess.run(
            [f"{tmp}/venv/bin/pip", "install", "-q", "--disable-pip-version-check", PINS[engine]],
            check=True,
            env=env,
            capture_output=True,
        )
        return time.perf_counter() - start


def med_value(runs: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in runs if r[key] == r[key]]
    return statistics.median(values) if values else float("inf")


def med(runs: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in runs if r[key] == r[key]]
    return f"{statistics.median(values):.2f}" if values else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=1, help="2: ABBA order, best run counts")
    ap.add_argument("--no-install", action="store_true", help="skip the install timings")
    ap.add_argument("--cold-compile", action="store_true", help="also compile llama-cpp-python")
    ap.add_argument("--batching", action="store_true", help="only: xllamacpp, 1-8 at once")
    ap.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.batching:
        batching(args.max_tokens)
        return
    if args.child:
        print(json.dumps(child(args.child, args.prompts, args.max_tokens)))
        return
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in ENGINES}
    # AB, then BA, ...: the load of other processes drifts, both engines see it alike.
    order = [e for i in range(args.rounds) for e in (ENGINES if i % 2 == 0 else ENGINES[::-1])]
    for engine in order:
        cmd = [sys.executable, __file__, "--child", engine, "--prompts", str(args.prompts)]
        out = subprocess.run(
            [*cmd, "--max-tokens", str(args.max_tokens)], capture_output=True, text=True
        )
        if out.returncode != 0:
            sys.exit(f"{engine} failed: {out.stderr[-2000:]}")
        runs[engine].append(json.loads(out.stdout.strip().splitlines()[-1]))
    # Each engine's faster run counts: load from other processes only ever adds time.
    results = {e: min(r, key=lambda x: med_value(x["cold"], "ttft_s")) for e, r in runs.items()}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end\n")
    report(results, args)


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    n = args.prompts
    head = f"| engine | load s | TTFT s (median of {n}, cold) | decode tok/s | CPU s a request |"
    print(head + " RSS MiB loaded / peak |")
    print("|---|---|---|---|---|---|")
    for engine, r in results.items():
        rss = f"{r['rss_loaded_mib']:.0f} / {r['rss_peak_mib']:.0f}"
        print(
            f"| {engine} | {r['load_s']:.2f} | {med(r['cold'], 'ttft_s')} |"
            f" {med(r['cold'], 'tok_s')} | {med(r['cold'], 'cpu_s')} | {rss} |"
        )
    x = results["xllamacpp"]
    warm = med(x["warm"], "ttft_s")
    print(f"\nxllamacpp with its prompt cache on (system prompt shared): TTFT {warm} s")
    f = x["follow_up"]
    print(
        f"follow-up ({f['prompt_tokens']} prompt tokens): TTFT {f['without_cache']:.2f} s"
        f" without the prompt cache, {f['with_cache']:.2f} s with it"
    )
    if args.no_install:
        return
    print("\n| engine | pip install, empty cache (download) | from pip's cache |")
    print("|---|---|---|")
    cache = str(Path.home() / ".cache" / "pip")
    for engine in ENGINES:
        cold = "compiles (--cold-compile)"
        if engine == "xllamacpp" or args.cold_compile:
            cold = f"{install_time(engine, None):.1f} s"
        print(f"| {engine} | {cold} | {install_time(engine, cache):.1f} s |")


if __name__ == "__main__":
    main()
