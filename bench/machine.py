"""The machine a figure was measured on: CPU model, cores and the vector instructions that decide
the encoder's speed (AVX2, AVX-512, native bfloat16, AMX), for every report of bench/."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


def describe_machine() -> dict[str, Any]:
    model, flags = platform.processor() or platform.machine(), set[str]()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "flags": [f for f in FLAGS if f in flags],
        "python": platform.python_version(),
        # Set by bench/avx2/run: the flags above are what the CPU showed with its AVX-512 hidden.
        "avx512_hidden": os.environ.get("FOLLOWUP_BENCH_AVX512_HIDDEN") == "1",
    }


def machine_line(machine: dict[str, Any]) -> str:
    """ "AMD EPYC, 2 cores (avx2, avx512f, avx512_bf16; no AMX), Python 3.11.7": AMX's absence said, as
    it decides whether a library build takes minutes or most of an hour."""
    flags = ", ".join(machine["flags"]) or "no AVX2"
    if not any(flag.startswith("amx") for flag in machine["flags"]):
        flags += "; no AMX"
    if machine.get("avx512_hidden"):
        flags += "; its AVX-512, VNNI and AMX hidden by bench/avx2/run"
    return f"{machine['cpu']}, {machine['cores']} cores ({flags}), Python {machine['python']}"
