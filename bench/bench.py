"""Speed and memory of the assistant, as one Markdown table (and raw numbers with --json).

Targets are checked here, never in tests: timings on a shared 2-core machine are too noisy
for pass/fail. Every row runs the product's own path (Components, index_files, i.e.
ingest_paths with the settings applied, Assistant.ask) and, where the target is a ratio,
also the raw library underneath on identical input: the ratio is what our glue costs.

    .venv/bin/python bench/bench.py [--quick] [--json FILE] [--venv-size]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from corpus import write_corpus

from assistant.cli.wiring import index_files
from assistant.embeddings.onnx import _PackagedMiniLM
from assistant.factory import Components
from assistant.llm.llamacpp import LlamaCppChat, packaged_model_path
from assistant.settings import Settings
from ingest.chunking import chunk_document
from ingest.loaders import load

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
COLD_QUESTION = "When was Llama 2 released, and under what licence?"
SEED_QUESTIONS = [  # each answered by the seed corpus (as in tests/core/test_retrieval.py)
    "What did the Russian army do in 1812 as it retreated?",
    "Which operating system for VR headsets did Meta open-source?",
    "How fast did Groq deploy Llama 3 after its announcement?",
    "What is FAIR and who leads it?",
    "How many parameters does LLaMA 3.1's largest model have?",
    "On what date did the LLaMA weights leak on 4chan?",
    "How does releasing open-source models help Meta attract talent?",
]
RESULTS: dict[str, Any] = {}  # raw samples, for --json


@dataclass
class Row:
    metric: str
    value: float
    unit: str
    target: tuple[str, float] | None = None  # e.g. ("<=", 1.10)
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        op, limit = self.target
        ok = {"<=": self.value <= limit, ">=": self.value >= limit, "<": self.value < limit}[op]
        return "ok" if ok else "MISSED"


def isolate_settings(config: Path | str = "/nonexistent/assistant.toml") -> None:
    """Clear the `ASSISTANT_*` variables and point the config at a missing file: a
    developer's settings must not leak into the numbers."""
    for var in [v for v in os.environ if v.startswith("ASSISTANT_")]:
        del os.environ[var]
    os.environ["ASSISTANT_CONFIG"] = str(config)


def manifest_mb(folder: Path) -> float:
    """The manifest file (with the embedded keyword index) and its WAL, where writes stay
    until a checkpoint (every 64 MiB), in MiB."""
    return sum(f.stat().st_size for f in folder.glob("manifest.sqlite3*")) / 2**20


def _settings(tmp: Path, name: str) -> Settings:
    # never the user's data dir; the model's answer is what is timed. The TTFT rows compare
    # against raw llama-cpp-python, so the product runs on that engine here
    # (bench/engine_bench.py compares the engines).
    return Settings(
        data_dir=tmp / name,
        seed_dir=SEEDS,
        answer_style="generated",
        llamacpp_engine="llama-cpp-python",
    )


# --- the rows ---------------------------------------------------------------------------
def cold_start(tmp: Path) -> tuple[list[Row], int]:
    """What a new user waits for: imports, model load, seeding the empty store, the answer.

    os.wait4 gives this one child's peak RSS directly (no /usr/bin/time output to parse).
    """
    exe = Path(sys.executable).with_name("assistant")
    # The model's answer is what is timed (the packaged model's default is a quote).
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp / "cold"),
        "ASSISTANT_ANSWER_STYLE": "generated",
    }
    out, err = tmp / "cold.out", tmp / "cold.err"
    with out.open("wb") as o, err.open("wb") as e:
        started = time.perf_counter()
        proc = subprocess.Popen([exe, "ask", "--json", COLD_QUESTION], stdout=o, stderr=e, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"cold start failed ({proc.returncode}): {err.read_text()}")
    answer = json.loads(out.read_text())
    t = answer["timings"]
    RESULTS["cold_start"] = {"wall_s": wall, "timings": t, "maxrss_kb": usage.ru_maxrss}
    note = f"includes seeding the empty store ({len(list(SEEDS.iterdir()))} seed files)"
    return [
        Row("Cold start: `assistant ask --json`, process start to exit", wall, "s", note=note),
        Row("Cold start: first_token_s (from the JSON)", t["first_token_s"], "s"),
        Row("Cold start: total_s (from the JSON)", t["total_s"], "s"),
    ], usage.ru_maxrss


def ttft(tmp: Path, questions: list[str]) -> list[Row]:
    """Time to first token of Assistant.ask vs raw llama.cpp on the byte-identical prompt.

    Fairness: same GGUF, n_ctx, threads, sampling; both Llama objects warmed once; both
    reset() before every measured call, so neither reuses a KV-cache prefix. Each side runs
    twice per question in ABBA order (BAAB for the next) and its faster run counts: load
    from other processes only ever adds time, and llama.cpp's two threads suffer it badly.
    """
    sides = _TtftSides(Components(_settings(tmp, "ttft")))
    warm = SEED_QUESTIONS[-1]
    sides.run_raw(sides.prompt(warm))
    sides.run_ask(warm)  # also builds the BM25 index and loads the ONNX session
    samples = [sides.sample(q, abba=i % 2 == 0) for i, q in enumerate(questions)]
    RESULTS["ttft"] = samples
    ask_s, raw_s, retrieval_s, tokens = (
        statistics.median(x[k] for x in samples)
        for k in ("ask_s", "raw_s", "retrieval_s", "tokens")
    )
    ratio = statistics.median(x["ask_s"] / x["raw_s"] for x in samples)  # paired: per question
    note = f"{len(samples)} seed questions, median prompt {tokens:.0f} tokens"
    same = f"same answer in all 4 runs: {sum(x['same'] for x in samples)}/{len(samples)} questions"
    return [
        Row("TTFT Assistant.ask, median of best-of-2 (incl. retrieval)", ask_s, "s", note=note),
        Row("TTFT raw llama.cpp, identical prompt, median of best-of-2", raw_s, "s", note=same),
        Row("  of which retrieval in ask, median", retrieval_s, "s"),
        Row("TTFT ratio ask / raw, median of per-question ratios", ratio, "x", ("<=", 1.10)),
    ]


class _TtftSides:
    """The two sides of `ttft`: the product's Assistant.ask, and a raw llama.cpp Llama on
    the same GGUF and settings, each timed to its first token from a cold KV cache."""

    def __init__(self, parts: Components) -> None:
        from llama_cpp import Llama

        self.parts, s, self.chat = parts, parts.settings, parts.model
        assert isinstance(self.chat, LlamaCppChat)
        index_files(parts, [SEEDS])
        path = str(s.model_path or packaged_model_path())
        self.raw = Llama(
            path, n_ctx=s.context_window, n_threads=s.threads, seed=s.seed, verbose=False
        )
        self.gen = {"max_tokens": s.max_answer_tokens, "temperature": s.temperature, "seed": s.seed}

    def cold_cache(self) -> None:  # forget the previous prompt in both KV caches
        self.chat._llm.reset()
        self.raw.reset()

    def run_ask(self, q: str) -> tuple[float, str, Any]:
        self.cold_cache()
        started = time.perf_counter()
        stream = self.parts.assistant.ask(q)
        pieces = iter(stream)
        first = next(pieces)
        took = time.perf_counter() - started
        return took, first + "".join(pieces), stream

    def run_raw(self, messages: Any) -> tuple[float, str, Any]:
        self.cold_cache()
        started, took, pieces = time.perf_counter(), 0.0, []
        stream = self.raw.create_chat_completion(
            messages, stream=True, repeat_penalty=1.1, **self.gen
        )
        for chunk in stream:
            piece = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
            if piece:
                took = took or time.perf_counter() - started
                pieces.append(piece)
        return took, "".join(pieces), None

    def prompt(self, q: str) -> Any:  # the messages ask builds: same retrieval, same fitting
        return self.parts.assistant._fit(q, self.parts.retriever.retrieve(q).hits)[0]

    def sample(self, q: str, *, abba: bool) -> dict[str, Any]:
        """Both sides twice on one question, ABBA (or BAAB); each side's faster run counts."""
        messages = self.prompt(q)
        runs: dict[str, list[tuple[float, str, Any]]] = {"ask": [], "raw": []}
        for side in ("ask", "raw", "raw", "ask") if abba else ("raw", "ask", "ask", "raw"):
            runs[side].append(self.run_ask(q) if side == "ask" else self.run_raw(messages))
        ask_s, _, stream = min(runs["ask"], key=lambda r: r[0])
        raw_s = min(r[0] for r in runs["raw"])
        assert self.chat.render(stream._messages) == self.chat.render(messages), "prompts differ"
        same = len({r[1] for r in runs["ask"] + runs["raw"]}) == 1
        every = {f"{k}_runs_s": [r[0] for r in v] for k, v in runs.items()}
        sample = dict(q=q, ask_s=ask_s, raw_s=raw_s, same=same, **every)
        a = stream.answer
        return sample | {"retrieval_s": a.timings["retrieval_s"], "tokens": a.prompt_tokens}


def ingest_speed(tmp: Path, files: int, slices: int) -> list[Row]:
    """index_files (load, chunk, embed, write) vs the bare ONNX embedder on the same chunks.

    The corpus is cut into slices, indexed one after another into the same store, and each
    slice's raw embedding runs right beside it (in alternating order), so a load that comes
    and goes on a shared machine hits both sides alike.
    """
    parts = Components(_settings(tmp, "ingest"))
    s, store = parts.settings, parts.store
    size = {"chunk_size": s.chunk_size, "chunk_overlap": s.chunk_overlap}
    store.embedder.embed(["warm up"])  # loading the ONNX session is not ingest speed
    embed = _PackagedMiniLM(preferred_providers=["CPUExecutionProvider"])
    embed(["warm up"])
    corpus, chunks, product_s, raw_s = tmp / "corpus", 0, 0.0, 0.0
    for k in range(slices):
        write_corpus(corpus / f"part{k}", files // slices, seed=k)
        docs = [load(path) for path in sorted((corpus / f"part{k}").iterdir())]
        texts = [c.text for d in docs for c in chunk_document(d, **size, collection=s.collection)]
        for side in ("raw", "product") if k % 2 else ("product", "raw"):
            started = time.perf_counter()
            if side == "raw":  # in the product's batch size: it bounds memory there
                for i in range(0, len(texts), s.embed_batch):
                    embed(texts[i : i + s.embed_batch])
                raw_s += time.perf_counter() - started
            else:
                report = index_files(parts, [corpus / f"part{k}"])
                product_s += report.seconds
                assert report.chunks == len(texts), (report.chunks, len(texts))
        chunks += len(texts)
    again = index_files(parts, [corpus])
    assert again.counts["unchanged"] == files // slices * slices, again.counts
    assert store.count() == chunks
    product, bare = chunks / product_s, chunks / raw_s
    RESULTS["ingest"] = dict(chunks=chunks, s=product_s, raw_s=raw_s, again_s=again.seconds)
    note = f"{files} synthetic files in {slices} slices, {chunks} chunks, {product_s:.0f} s"
    rerun, rerun_note = 100 * again.seconds / product_s, f"{again.seconds:.2f} s"
    return [
        Row("Ingest: index_files into a fresh store", product, "chunks/s", note=note),
        Row("Ingest: raw _PackagedMiniLM on the same chunk texts", bare, "chunks/s"),
        Row("Ingest ratio product / raw", product / bare, "x", (">=", 0.9)),
        Row("Ingest: unchanged re-run, % of first run", rerun, "%", ("<", 5.0), rerun_note),
    ]


class RandomVectors:
    """Stands in for the embedder while a large store is written: embedding 10k chunks for
    real would take ~8 minutes, and search costs do not depend on what the vectors mean."""

    def __init__(self, name: str) -> None:
        self.name, self._rng = name, np.random.default_rng(2)

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors = self._rng.standard_normal((len(texts), 384))
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).tolist()


def retrieval_latency(tmp: Path, n_chunks: int, n_queries: int) -> list[Row]:
    """Hybrid retrieval over a large store and where its time goes: bench/retrieval_bench.py
    (chunks with random unit vectors in 5 collections, real query embedder)."""
    from retrieval_bench import RESULTS as RETRIEVAL
    from retrieval_bench import measure

    rows = measure(tmp, n_chunks, n_queries)
    RESULTS["retrieval"] = RETRIEVAL
    return rows


def _closure(names: list[str]) -> set[str]:
    """Installed distributions that `names` pull in (markers evaluated, no extras)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        reqs = map(Requirement, dist.requires or [])
        todo += [r.name for r in reqs if not r.marker or r.marker.evaluate({"extra": ""})]
    return seen


def _du_mib(path: Path) -> float:
    out = subprocess.run(["du", "-sk", path], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) / 1024


def venv_size(tmp: Path, fresh: bool) -> list[Row]:
    """Disk cost of an install: a real fresh venv, or the dev venv minus the test tools."""
    if fresh:
        src, venv = tmp / "src", tmp / "venv"
        skip = shutil.ignore_patterns(".*", "*.egg-info", "__pycache__", "build", "bench")
        shutil.copytree(ROOT, src, ignore=skip)  # pip builds in the tree: keep the repo clean
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        started = time.perf_counter()
        pip = subprocess.run([venv / "bin" / "pip", "install", src], capture_output=True)
        if pip.returncode:
            sys.exit(f"pip install failed:\n{pip.stderr.decode()[-3000:]}")
        note = f"du -s; pip install took {time.perf_counter() - started:.0f} s"
        return [
            Row("Installed size: fresh venv + `pip install .`", _du_mib(venv), "MiB", None, note)
        ]
    test_only = _closure(["playwright", "pytest", "ruff"]) - _closure(["onprem-assistant"])
    dists = [metadata.distribution(name) for name in test_only]
    files = [Path(str(d.locate_file(f))) for d in dists for f in d.files or []]
    excluded = sum(f.stat().st_size for f in files if f.is_file()) / 1024**2
    note = f"dev venv, less {', '.join(sorted(test_only))}; --venv-size for a real install"
    size = _du_mib(Path(sys.prefix)) - excluded
    return [Row("Installed size ≈ (approximation)", size, "MiB", None, note)]


def table(rows: list[Row]) -> str:
    def fmt(v: float) -> str:
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"

    lines = ["| metric | value | target | verdict | note |", "|---|---:|---|---|---|"]
    for r in rows:
        target = f"{r.target[0]} {fmt(r.target[1])}" if r.target else ""
        value = f"{fmt(r.value)} {r.unit}"
        lines.append(f"| {r.metric} | {value} | {target} | {r.verdict} | {r.note} |")
    return "\n".join(lines)


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds the whole machine was busy, CPU seconds of this process and its children).

    Their difference over a run is what other processes took: timings are only as good as
    that is small, on a machine others share.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    busy = (sum(fields[:8]) - fields[3] - fields[4]) / ticks  # all but idle and iowait
    me = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return busy, sum(u.ru_utime + u.ru_stime for u in me)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run (~2-3 min)")
    ap.add_argument("--json", type=Path, help="also write the raw numbers here")
    ap.add_argument("--venv-size", action="store_true", help="pip install into a fresh venv")
    args = ap.parse_args()
    started, cpu_start = time.perf_counter(), cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as name:
        tmp = Path(name)
        isolate_settings(tmp / "no-such-config.toml")
        rows, child_kb = cold_start(tmp)
        rows += ttft(tmp, SEED_QUESTIONS[: 2 if args.quick else 5])
        rows += ingest_speed(tmp, 30 if args.quick else 200, 2 if args.quick else 4)
        rows += retrieval_latency(tmp, 2_000 if args.quick else 10_000, 20 if args.quick else 100)
        self_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        note = "2 llama.cpp models, 2 ONNX sessions, 3 Chroma stores"
        rows += [
            Row("Peak RSS, this process (rows 2-4)", self_mib, "MiB", note=note),
            Row("Peak RSS, cold-start subprocess", child_kb / 1024, "MiB"),
        ]
        rows += venv_size(tmp, args.venv_size)
    RESULTS["rows"] = [asdict(r) | {"verdict": r.verdict} for r in rows]
    RESULTS["seconds"] = time.perf_counter() - started
    print(table(rows))
    (busy, mine), (busy0, mine0) = cpu_seconds(), cpu_start
    others = RESULTS["other_processes_cores"] = (busy - busy0 - (mine - mine0)) / RESULTS["seconds"]
    verdict = "timings are skewed: re-run" if others > 0.2 else "the timings are clean"
    print(f"\n{'quick' if args.quick else 'full'} run: {RESULTS['seconds']:.0f} s; other processes")
    print(f"used {others:.2f} of {os.cpu_count()} cores meanwhile: {verdict}.")
    if args.json:
        args.json.write_text(json.dumps(RESULTS, indent=2))


if __name__ == "__main__":
    main()
