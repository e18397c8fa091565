"""What a newcomer waits for: the README's first command, from nothing to the first answer.

Copies the tracked files to a temp dir, runs the README's install line in a fresh venv
(with an empty pip cache by default: everything is downloaded from the registry), starts
`assistant serve` on a temp data dir (seeding the empty store) and asks one question over
`/api/ask`; prints the time of each step and in total.

    .venv/bin/python bench/first_answer.py                # empty pip cache
    .venv/bin/python bench/first_answer.py --pip-cache    # pip's own cache
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "When was Llama 2 released, and under what licence?"


def readme_install_line() -> str:
    """The README's first command, less its final `assistant serve` (started here)."""
    block = re.search(r"```sh\n(python3 -m venv .*?)\n```", (ROOT / "README.md").read_text())
    if not block:
        sys.exit("README.md: the first command was not found")
    line = block.group(1)
    return line.removesuffix(" && .venv/bin/assistant serve")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_answer(base: str, deadline: float) -> None:
    while time.perf_counter() < deadline:
        try:
            with httpx.stream(
                "POST", f"{base}/api/ask", json={"question": QUESTION}, timeout=600
            ) as r:
                if r.status_code == 200:
                    lines = [json.loads(x) for x in r.iter_lines() if x.strip()]
                    if lines[-1].get("type") == "done" and lines[-1].get("answer"):
                        return
                    sys.exit(f"no answer: {lines[-1]}")
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit("the server did not answer within 10 minutes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pip-cache", action="store_true", help="use pip's own cache")
    args = ap.parse_args()
    line = readme_install_line()
    with tempfile.TemporaryDirectory(prefix="first-answer-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
        subprocess.run(
            ["tar", "--null", "-T", "-", "-cf", f"{tmp}/src.tar"],
            cwd=ROOT,
            input=files.stdout,
            check=True,
        )
        subprocess.run(["tar", "-xf", f"{tmp}/src.tar", "-C", str(src)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "VIRTUAL"))}
        if not args.pip_cache:
            env["PIP_CACHE_DIR"] = f"{tmp}/pip-cache"  # empty: everything is downloaded
        started = time.perf_counter()
        subprocess.run(["sh", "-c", line], cwd=src, env=env, check=True, capture_output=True)
        installed = time.perf_counter()
        print(f"installed in {installed - started:.0f} s", file=sys.stderr, flush=True)
        port = free_port()
        env |= {
            "ASSISTANT_DATA_DIR": f"{tmp}/data",
            "ASSISTANT_CONFIG": f"{tmp}/none.toml",
            "ASSISTANT_PORT": str(port),
        }
        server = subprocess.Popen(
            [str(src / ".venv/bin/assistant"), "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            first_answer(f"http://127.0.0.1:{port}", installed + 600)
        finally:
            server.terminate()
            server.wait(30)
        done = time.perf_counter()
    cache = "pip's own cache" if args.pip_cache else "an empty pip cache"
    print(f"`{line} && .venv/bin/assistant serve`, with {cache};")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end\n")
    print("| step | seconds |\n|---|---|")
    print(f"| install (venv, pip) | {installed - started:.0f} |")
    print(
        f"| serve: start, seed the store, load the model, answer the first question | "
        f"{done - installed:.0f} |"
    )
    print(f"| **from nothing to the first answer** | **{done - started:.0f}** |")


if __name__ == "__main__":
    main()
