"""Performance of followup on a corpus, in one run: index build time, throughput and peak memory; index
size on disk; `followup ask` cold start; warm in-process latency per mode. Medians of repeated runs.

    python bench/bench.py [--corpus corpus] [--builds 3] [--cold 5] [--rounds 3] [--json]

Builds go to a temporary directory; the project's index/ is not touched.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from machine import describe_machine, machine_line

if TYPE_CHECKING:
    from followup.core.settings import Mode

SUITE = Path(__file__).resolve().parents[1] / "evals" / "muscle-spasm-suite.jsonl"
COLD_QUESTION = ["What dose should be used?", "--history", "Which medication treats spasticity in multiple sclerosis?"]


def followup(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "followup.cli", *args], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result


def peak_child_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB


def build(corpus: Path, index: Path, runs: int) -> dict[str, Any]:
    """Full builds, each into an empty directory (no embeddings kept from before), then one rebuild of
    the last with every text already embedded."""
    seconds = []
    for run in range(runs):
        target = index if run == runs - 1 else index.with_name(f"{index.name}-{run}")
        seconds.append(followup("index", "--corpus", str(corpus), "--index", str(target))[0])
    rebuild = followup("index", "--corpus", str(corpus), "--index", str(index), "--force")[0]
    from followup.index.layout import current_build, read_manifest

    location = current_build(index)
    manifest = read_manifest(location).raw
    files = {p.name: p.stat().st_size for p in location.path.iterdir() if p.is_file()}
    chunks = manifest["counts"]["chunks"]
    median = statistics.median(seconds)
    return {
        "chunks": chunks,
        "sentences": manifest["counts"]["sentences"],
        "build_seconds": median,
        "chunks_per_second": chunks / median,
        "build_peak_rss_mb": peak_child_rss_mb(),
        "rebuild_all_embedded_seconds": rebuild,
        "index_bytes": sum(files.values()),
        "index_bytes_without_onnx": sum(v for k, v in files.items() if not k.endswith(".onnx")),
    }


def cold_start(corpus: Path, index: Path, runs: int) -> dict[str, float]:
    seconds = [followup("ask", *COLD_QUESTION, "--corpus", str(corpus), "--index", str(index))[0] for _ in range(runs)]
    return {"cold_start_seconds": statistics.median(seconds), "cold_start_max_seconds": max(seconds)}


def warm(corpus: Path, index: Path, rounds: int, threads: int, modes: tuple[Mode, ...]) -> dict[str, dict[str, float]]:
    """In-process latency of whole answers; `threads`: the query encoder's (`followup ask` uses every
    core, a service slot one)."""
    from followup.answerer import Answerer
    from followup.core.types import AskRequest
    from followup.evaluate.suites import load_suite

    answerer = Answerer.load(index, corpus, threads=threads)
    items = load_suite(SUITE)
    results: dict[str, dict[str, float]] = {}
    for mode in modes:
        samples = []
        for _ in range(rounds):
            for item in items:
                started = time.perf_counter()
                answerer.answer(AskRequest(item.question, item.history, mode=mode))
                samples.append((time.perf_counter() - started) * 1000)
        results[mode] = {"p50_ms": float(np.percentile(samples, 50)), "p99_ms": float(np.percentile(samples, 99))}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="followup-bench-") as scratch:
        index = Path(scratch) / "index"
        report: dict[str, Any] = {"machine": machine_line(describe_machine())}
        print("building...", file=sys.stderr)
        report |= build(args.corpus, index, args.builds)
        print("cold starts...", file=sys.stderr)
        report |= cold_start(args.corpus, index, args.cold)
        print("warm queries...", file=sys.stderr)
        report["warm"] = warm(args.corpus, index, args.rounds, os.cpu_count() or 1, ("bm25", "dense", "hybrid"))
        report["warm_one_thread"] = warm(args.corpus, index, args.rounds, 1, ("hybrid",))
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"machine: {report['machine']}")
    rate = report["chunks_per_second"]
    print(f"index build: {report['build_seconds']:.1f} s for {report['chunks']} chunks ({rate:.1f} chunks/s, "
          f"model load and ONNX export included), peak {report['build_peak_rss_mb']:.0f} MB")  # fmt: skip
    print(f"rebuild with every text already embedded: {report['rebuild_all_embedded_seconds']:.2f} s")
    print(f"index size: {report['index_bytes'] / 1e6:.1f} MB ({report['index_bytes_without_onnx'] / 1e3:.0f} kB "
          "without the ONNX models)")  # fmt: skip
    print(
        f"followup ask cold start: {report['cold_start_seconds']:.2f} s (max {report['cold_start_max_seconds']:.2f} s)"
    )
    for mode, figures in report["warm"].items():
        print(f"warm {mode:6}: p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms")
    one = report["warm_one_thread"]["hybrid"]
    print(f"warm hybrid, one encoder thread (a service slot): p50 {one['p50_ms']:.1f} ms, p99 {one['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
