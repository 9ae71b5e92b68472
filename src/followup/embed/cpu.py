"""Which question model runs fastest on this CPU, from the instructions it has (/proc/cpuinfo).

onnxruntime's int8 weight-block kernels (embed/question_model.py) beat fp32 only where the CPU
multiplies int8 vectors in one instruction (VNNI, AMX). With AVX2 alone they are 15-20% slower than
the fused fp32 graph (2026-12-07, AMD EPYC with its AVX-512 and VNNI hidden by bench/avx2/run;
docs/tuning.md)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

# x86 flags of one-instruction int8 dot products: AVX512-VNNI, AVX-VNNI, AMX-INT8.
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first processor's x86 flags; empty where the file is missing or has none (another OS or
    architecture, whose int8 kernels were never measured here)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def int8_dot_products(flags: Collection[str] | None = None) -> bool:
    """Whether the CPU (or `flags`) has one-instruction int8 dot products."""
    return not INT8_DOT_FLAGS.isdisjoint(cpu_flags() if flags is None else flags)
