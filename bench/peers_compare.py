"""followup beside the lean floor (bm25s + faiss) and txtai on one BEIR benchmark (NFCorpus test by default),
in one run, on the same chunks and vectors: nDCG@10 and R@100 (the project's ir_measures code, at document
level), per-query latency p50/p95 and each half's peak memory.

    .venv/bin/python bench/peers_compare.py [--dataset ../shared/benchmarks/nfcorpus] [--json] [--out FILE]

The project's code makes the inputs once, into a temporary folder (bench/peers_data.py): NFCorpus chunked
as `followup eval` chunks it (beir_eval.build_benchmark_index: 80-word chunks with their title as
context), the chunk vectors from its embedding cache (embedded on a miss, as `followup eval` embeds them),
and each query's vector from the ONNX query encoder `followup ask` uses. Every stack reads those: query
encoding is excluded from every stack's latency (it is the same 4-5 ms model pass for all). Each half runs
as a process of its own, one after another, every native library on one thread: followup's in the
project's venv (bench/followup_peer_side.py), the floor's and txtai's in their own venvs (.cache/floor-venv,
.cache/txtai-venv, gitignored; installed on first use from bench/*-requirements.txt, never into the
project's). A half times one query at a time after a warm-up, from the query's text and vector to its
ranked documents, and reports its rankings, latencies and peak resident memory as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from followup.core.settings import DEFAULT_CHUNKING, DEFAULT_RETRIEVAL
from followup.core.storage import atomic_path
from followup.core.words import STOPWORDS
from followup.embed.encoder import OnnxQueryEncoder
from followup.evaluate.beir_data import BeirDataset, load_beir
from followup.evaluate.beir_eval import DEPTH, BenchmarkIndex, build_benchmark_index
from followup.evaluate.metrics import aggregate, percentiles
from machine import describe_machine, machine_line
from peers_data import SINGLE_THREAD_ENV, PeerData, PeerSettings, write_peer_data

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
FLOOR_CANDIDATES = 1000  # chunks each of the floor's retrievers returns
TOKEN_PATTERN = "[a-z0-9]+"  # followup's BM25 words (core/words.py), on lower-cased text
STAMP = ".requirements-sha256"


# --- the peers' venvs ----------------------------------------------------------------------------------------


def peer_python(venv: Path, requirements: Path) -> Path:
    """The venv's interpreter, (re)installed when its requirements file changed. A torch pin in the file is
    installed alone first, so nothing later can pick a CUDA build."""
    python = venv / "bin" / "python"
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = venv / STAMP
    if python.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == wanted:
        return python
    print(f"installing {requirements.name} into {venv} (once; the project's venv is not touched)", file=sys.stderr)
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    lines = [line.split("#")[0].strip() for line in requirements.read_text(encoding="utf-8").splitlines()]
    torch = [line for line in lines if line.startswith("torch==")]
    if torch:
        subprocess.run([*pip, *torch], check=True, stdout=sys.stderr)
    subprocess.run([*pip, "-r", str(requirements)], check=True, stdout=sys.stderr)
    stamp.write_text(wanted + "\n", encoding="utf-8")
    return python


# --- the shared inputs -------------------------------------------------------------------------------------


def chunk_encoder(bfloat16: bool) -> Callable[[Sequence[str], Callable[[int, int], None]], np.ndarray]:
    """The bulk encoder `followup eval` embeds a benchmark with, loaded only when the cache lacks the chunks."""

    def encode(texts: Sequence[str], progress: Callable[[int, int], None]) -> np.ndarray:
        from followup.embed.bulk_encoder import TorchPassEncoder
        from followup.embed.torch_encoder import Encoder

        return TorchPassEncoder(Encoder(), bfloat16).encode_many(texts, progress)

    return encode


def query_vectors(dataset: BeirDataset, index_dir: Path, cache_dir: Path) -> tuple[np.ndarray, Path]:
    """Each query's vector from the ONNX export `followup ask` embeds questions with (the index build's, or
    the benchmark cache's, exported there when neither exists), on one thread."""
    from followup.embed.onnx_export import cached_query_model, kept_query_model
    from followup.index.layout import EMBEDDINGS, QUERY_MODEL_FILE

    onnx = kept_query_model(index_dir / EMBEDDINGS, QUERY_MODEL_FILE)
    if not onnx.is_file():

        def encoder() -> Any:
            from followup.embed.torch_encoder import Encoder

            return Encoder()

        references = [f"{d.title}\n{d.text}" for d in dataset.documents[:32]]
        onnx = cached_query_model(kept_query_model(cache_dir, QUERY_MODEL_FILE), encoder, references, announce=True)
    encoder_ = OnnxQueryEncoder(onnx, threads=1)
    return np.stack([encoder_.encode_query(text) for text in dataset.queries.values()]), onnx


def prepare(dataset: BeirDataset, cache_dir: Path, index_dir: Path, warmup: int) -> tuple[PeerData, dict[str, Any]]:
    from followup.embed.bulk_encoder import native_bfloat16

    bfloat16 = native_bfloat16()
    variant = "bf16" if bfloat16 else "fp32"  # as `followup eval` names its cache files
    index: BenchmarkIndex = build_benchmark_index(dataset, chunk_encoder(bfloat16), DEFAULT_CHUNKING, cache_dir,
                                                  variant)  # fmt: skip
    vectors, onnx = query_vectors(dataset, index_dir, cache_dir)
    settings = PeerSettings(DEPTH, FLOOR_CANDIDATES, DEFAULT_RETRIEVAL.minmax_weights, warmup,
                            tuple(sorted(STOPWORDS)), TOKEN_PATTERN)  # fmt: skip
    data = PeerData(index.ids, index.chunk_document, index.chunk_texts, index.vectors, list(dataset.queries),
                    list(dataset.queries.values()), vectors, settings)  # fmt: skip
    inputs = {"documents": len(index.ids), "chunks": len(index.chunk_texts), "dimension": int(index.vectors.shape[1]),
              "chunking": DEFAULT_CHUNKING.as_dict(), "chunk_vectors": f"followup's embedding cache ({variant})",
              "cache_variant": variant, "query_vectors": f"followup's ONNX query encoder, one thread ({onnx.name})",
              "query_encoding": "excluded from every stack's latency: each gets the query's vector"}  # fmt: skip
    return data, inputs


# --- the halves ----------------------------------------------------------------------------------------------


def run_side(python: Path, script: str, folder: Path, name: str, extra: Sequence[str] = ()) -> dict[str, Any]:
    out = folder / f"{name}.json"
    env = {**os.environ, **SINGLE_THREAD_ENV}
    print(f"running {name}'s half ({script})", file=sys.stderr)
    subprocess.run([str(python), str(BENCH / script), "--data", str(folder / "data"), "--out", str(out), *extra],
                   check=True, stdout=sys.stderr, env=env)  # fmt: skip
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


STACKS = ("followup", "floor", "txtai")
FROZEN_SUFFIX = ", gc frozen"  # a side's diagnostic run: its hybrid timed again with gc.freeze()


def run_halves(dataset_path: Path, split: str, cache_dir: Path, variant: str, folder: Path, stacks: Sequence[str],
               txtai_limit: int) -> dict[str, dict[str, Any]]:  # fmt: skip
    halves: dict[str, dict[str, Any]] = {}
    for stack in stacks:
        if stack == "followup":
            extra = ["--dataset", str(dataset_path), "--split", split, "--cache", str(cache_dir), "--variant", variant]
            halves[stack] = run_side(Path(sys.executable), "followup_peer_side.py", folder, stack, extra)
        elif stack == "floor":
            python = peer_python(ROOT / ".cache" / "floor-venv", BENCH / "floor-requirements.txt")
            halves[stack] = run_side(python, "floor_side.py", folder, stack)
        else:
            python = peer_python(ROOT / ".cache" / "txtai-venv", BENCH / "txtai-requirements.txt")
            halves[stack] = run_side(python, "txtai_side.py", folder, stack, ["--limit", str(txtai_limit)])
    return halves


# --- scoring and report ------------------------------------------------------------------------------------


def as_run(query_ids: Sequence[str], rankings: Sequence[Sequence[str]]) -> dict[str, dict[str, float]]:
    """Rank-derived scores, as followup's BenchmarkIndex.as_run gives, so trec_eval keeps each stack's order."""
    pairs = zip(query_ids, rankings, strict=True)
    return {q: {doc: float(DEPTH - n) for n, doc in enumerate(docs[:DEPTH])} for q, docs in pairs}


def commit() -> str:
    """The code measured: its commit, marked when the work tree's bench/ or src/ differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (" (modified)" if git("status", "--porcelain", "--", "src", "bench")
                                                  else "")  # fmt: skip


def compare(dataset_path: Path, split: str, cache_dir: Path, index_dir: Path, warmup: int, stacks: Sequence[str],
            txtai_limit: int, keep: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """`keep`: the folder for the shared inputs and the halves' reports, left in place (to run or profile a
    half again on the same inputs); a temporary one when None."""
    dataset = load_beir(dataset_path, split)
    load_before = os.getloadavg()
    data, inputs = prepare(dataset, cache_dir, index_dir, warmup)
    with tempfile.TemporaryDirectory(prefix="peers-compare-") as scratch:
        folder = keep or Path(scratch)
        write_peer_data(folder / "data", data)
        halves = run_halves(dataset_path, split, cache_dir, inputs["cache_variant"], folder, stacks, txtai_limit)
    load_after = os.getloadavg()

    systems: dict[str, dict[str, Any]] = {}
    diagnostics: dict[str, dict[str, float]] = {}
    frozen: dict[str, dict[str, float]] = {}  # the hybrid's latency again, the garbage collector frozen
    for stack, half in halves.items():
        for name, system in half["systems"].items():
            if name.endswith(FROZEN_SUFFIX):
                frozen[name] = percentiles(system["latency_ms"])
                continue
            measures = aggregate(dataset.qrels, as_run(data.query_ids, system["rankings"]))
            if system.get("latency_ms") is None:
                diagnostics[name] = measures
                continue
            systems[name] = {**measures, "latency_ms": percentiles(system["latency_ms"]),
                             "peak_rss_mb": half["peak_rss_mb"], "stack": stack}  # fmt: skip
    details = {stack: {k: v for k, v in half.items() if k not in ("systems", "component_ms")} for stack, half in
               halves.items()}  # fmt: skip
    for stack, half in halves.items():
        if half.get("component_ms"):
            details[stack]["component_ms"] = {part: percentiles(s) for part, s in half["component_ms"].items()}
    machine = describe_machine()
    return {
        "benchmark": dataset.name,
        "split": split,
        "queries": len(dataset.queries),
        "date": time.strftime("%Y-%m-%d"),
        "commit": commit(),
        "machine": machine,
        "machine_line": machine_line(machine),
        "load_average_1min": {"start": load_before[0], "end": load_after[0]},
        "threads": "one per stack: "
        + ", ".join(f"{k}={v}" for k, v in SINGLE_THREAD_ENV.items())
        + ", faiss.omp_set_num_threads(1), torch.set_num_threads(1) in txtai's half",
        "inputs": inputs,
        "warmup_queries": warmup,
        "systems": systems,
        "diagnostics_no_latency": diagnostics,
        "latency_gc_frozen_ms": frozen,
        "stacks": details,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"{report['benchmark']} ({report['split']}), {report['queries']} queries, {report['date']}, commit "
          f"{report['commit']}\n{report['machine_line']}")  # fmt: skip
    inputs = report["inputs"]
    print(f"the same {inputs['chunks']} chunks of {inputs['documents']} documents and vectors for all; "
          f"{inputs['query_encoding']}")  # fmt: skip
    print(f"{'system':26} {'nDCG@10':>8} {'R@100':>7} {'p50 ms':>8} {'p95 ms':>8} {'peak RSS MB':>12}")
    for name, row in report["systems"].items():
        lat = row["latency_ms"]
        print(f"{name:26} {row['nDCG@10']:8.4f} {row['R@100']:7.4f} {lat['p50']:8.2f} {lat['p95']:8.2f} "
              f"{row['peak_rss_mb']:12.0f}")  # fmt: skip
    print("\neach retriever alone (untimed):")
    for name, row in report["diagnostics_no_latency"].items():
        print(f"{name:26} {row['nDCG@10']:8.4f} {row['R@100']:7.4f}")
    if report["latency_gc_frozen_ms"]:
        print("\nthe hybrid's latency again, Python's garbage collector frozen (gc.freeze; same rankings):")
        for name, lat in report["latency_gc_frozen_ms"].items():
            print(f"{name:26} {'':8} {'':7} {lat['p50']:8.2f} {lat['p95']:8.2f}")
    for stack, detail in report["stacks"].items():
        parts = ", ".join(f"{part} {row['p50']:.2f}" for part, row in detail.get("component_ms", {}).items())
        versions = ", ".join(f"{p} {v}" for p, v in detail["versions"].items())
        indexing = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in detail["index_seconds"].items())
        print(f"\n{stack}: {versions}; indexing {indexing}" + (f"; parts p50 ms: {parts}" if parts else ""))
    if "txtai" in report["stacks"]:
        txtai = report["stacks"]["txtai"]
        print(f"txtai: limit {txtai['limit_chunks']} chunks ({txtai['candidates_per_side']} candidates a side); "
              f"{txtai['queries_under_depth']} queries had fewer than {DEPTH} documents in them")  # fmt: skip
    load = report["load_average_1min"]
    print(f"1-minute load average: {load['start']:.2f} at start, {load['end']:.2f} at end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "benchmarks" / "nfcorpus")
    parser.add_argument("--split", default="test")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "embeddings", help="followup's embedding cache")
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="project index with the ONNX query encoder")
    parser.add_argument("--warmup", type=int, default=10, help="untimed queries before timing, each stack")
    parser.add_argument("--stacks", default=",".join(STACKS), help=f"which halves to run, of {', '.join(STACKS)}")
    parser.add_argument("--txtai-limit", type=int, default=300,
                        help="chunks a txtai hybrid search returns (10 x as many candidates a side)")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep the shared inputs (DIR/data) and each half's report here")
    parser.add_argument("--out", type=Path, help="results JSON (default: evals/runs/<time>-peers-compare/)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    stacks = [s.strip() for s in args.stacks.split(",") if s.strip()]
    unknown = [s for s in stacks if s not in STACKS]
    if unknown or not stacks:
        parser.error(f"--stacks: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(STACKS)}")
    report = compare(args.dataset, args.split, args.cache, args.index, args.warmup, stacks, args.txtai_limit, args.keep)
    out = args.out or ROOT / "evals" / "runs" / f"{time.strftime('%Y%m%dT%H%M%S')}-peers-compare" / "results.json"
    with atomic_path(out) as temporary:
        temporary.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    print(f"results saved in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
