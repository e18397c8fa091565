"""How many answers the in-process engine generates at once, and what that costs in memory.

Each slot holds its own KV cache of `context_window` tokens, so the prompt built for one
slot always fits. Per token the cache takes 2 (K and V) x layers x KV heads x head size x
2 bytes (f16); for SmolLM2-135M that is 23 KB, 94 MB a slot of 4096 tokens; for a Llama
3.1 8B 128 KB, 512 MB a slot. See deploy/SIZING.md for the arithmetic behind the default.
"""

from __future__ import annotations

import os
from pathlib import Path

from assistant.llm.gguf_meta import read_values

MAX_AUTO_SLOTS = 8
KV_MEMORY_SHARE = 0.25  # of the memory available at start, for all slots' KV caches


def cores() -> int:
    return len(os.sched_getaffinity(0))


def available_memory() -> int:
    """MemAvailable from /proc/meminfo, in bytes (0 if unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def kv_bytes_per_token(gguf: Path) -> int:
    """KV cache bytes one token takes in this model (f16 cache), from its GGUF header."""
    arch = str(read_values(gguf, {"general.architecture"}).get("general.architecture", "llama"))
    keys = {
        f"{arch}.{k}"
        for k in (
            "block_count",
            "embedding_length",
            "attention.head_count",
            "attention.head_count_kv",
            "attention.key_length",
            "attention.value_length",
        )
    }
    meta = {k.removeprefix(f"{arch}."): v for k, v in read_values(gguf, keys).items()}
    layers = int(meta.get("block_count", 0))
    heads = int(meta.get("attention.head_count", 0)) or 1
    kv_heads = int(meta.get("attention.head_count_kv", heads))
    head = int(meta.get("embedding_length", 0)) // heads
    k_len = int(meta.get("attention.key_length", head))
    v_len = int(meta.get("attention.value_length", head))
    return layers * kv_heads * (k_len + v_len) * 2


def default_slots(kv_per_slot: int, n_cores: int | None = None, memory: int | None = None) -> int:
    """One slot per two cores (a CPU decodes a batch of a few sequences for little more
    than the cost of one, until the cores rather than memory bandwidth are the limit), at
    most `MAX_AUTO_SLOTS`, and only as many as fit a quarter of the available memory."""
    n_cores = cores() if n_cores is None else n_cores
    memory = available_memory() if memory is None else memory
    slots = max(1, min(MAX_AUTO_SLOTS, n_cores // 2))
    if memory and kv_per_slot:
        slots = min(slots, max(1, int(memory * KV_MEMORY_SHARE) // kv_per_slot))
    return slots
