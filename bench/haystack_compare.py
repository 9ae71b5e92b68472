"""followup beside a Haystack 2.x in-memory hybrid pipeline on one BEIR benchmark (NFCorpus test by default),
in one run: nDCG@10 (and the rest of the project's measures, by the same ir_measures code, at document
level) and per-query latency p50/p95 of each, plus Haystack's time to embed and index the corpus.

    .venv/bin/python bench/haystack_compare.py [--dataset ../shared/benchmarks/nfcorpus] [--json] [--out FILE]

Haystack never becomes a project dependency: it is installed into its own venv (.cache/haystack-venv,
gitignored) from bench/haystack-requirements.txt, torch's CPU pin first, and its half runs there as a
subprocess (bench/haystack_side.py) that writes its rankings and latencies to JSON. followup's half runs
here, with the project's own benchmark code (followup.evaluate.beir_eval: 80-word chunks, BM25 and cached chunk
embeddings, a document scoring as its best chunk), the project's fusion defaults, and the ONNX question
model that `followup ask` uses. Latency is measured the same way for both: the wall time of one query
end to end in process (query embedding, both retrievers, fusion), one query at a time, after a warm-up.
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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from followup.core.progress import ProgressLine
from followup.core.settings import DEFAULT_CHUNKING, DEFAULT_RETRIEVAL
from followup.embed.encoder import OnnxQueryEncoder
from followup.evaluate.beir_data import BeirDataset, load_beir
from followup.evaluate.beir_eval import DEPTH, BenchmarkIndex, build_benchmark_index
from followup.evaluate.metrics import aggregate, percentiles
from followup.retrieve.hybrid import Ranked
from machine import describe_machine, machine_line

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".cache" / "haystack-venv"
REQUIREMENTS = ROOT / "bench" / "haystack-requirements.txt"
SIDE = ROOT / "bench" / "haystack_side.py"
# The CPU wheel on the project's machines; installed alone first, so nothing later can pick a CUDA build.
TORCH_PIN = "torch==2.13.0"
STAMP = ".requirements-sha256"
HAYSTACK = "haystack hybrid-rrf"
FOLLOWUP = ("followup hybrid-minmax", "followup hybrid-rrf")


# --- Haystack's venv and half ------------------------------------------------------------------------------


def haystack_python(venv: Path = VENV) -> Path:
    """The venv's interpreter, (re)installed when bench/haystack-requirements.txt changed."""
    python = venv / "bin" / "python"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = venv / STAMP
    if python.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == wanted:
        return python
    print(f"installing Haystack into {venv} (once; the project's venv is not touched)", file=sys.stderr)
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    print(f"pip install {TORCH_PIN}", file=sys.stderr)
    subprocess.run([*pip, TORCH_PIN], check=True, stdout=sys.stderr)
    print(f"pip install -r {REQUIREMENTS.relative_to(ROOT)}", file=sys.stderr)
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True, stdout=sys.stderr)
    stamp.write_text(wanted + "\n", encoding="utf-8")
    return python


def run_haystack(dataset: BeirDataset, path: Path, top_k: int, warmup: int, threads: int) -> dict[str, Any]:
    python = haystack_python()
    with tempfile.TemporaryDirectory(prefix="haystack-compare-") as scratch:
        queries, out = Path(scratch) / "queries.json", Path(scratch) / "run.json"
        queries.write_text(json.dumps(dataset.queries), encoding="utf-8")
        command = [str(python), str(SIDE), "--dataset", str(path), "--queries", str(queries), "--out", str(out),
                   "--top-k", str(top_k), "--warmup", str(warmup), "--query-threads", str(threads)]  # fmt: skip
        subprocess.run(command, check=True, stdout=sys.stderr)
        report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


# --- followup's half ---------------------------------------------------------------------------------------


class _EncoderOnCacheMiss:
    """build_benchmark_index embeds only texts its cache lacks; torch is imported only then, so the query
    path here stays what `followup ask` runs (onnxruntime, no torch in the process). Its chunk vectors are
    sentence-transformers' fp32 ones, cached apart from `followup eval`'s bfloat16 ones."""

    def __init__(self) -> None:
        self.embedded = 0

    def encode(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        from followup.embed.torch_encoder import Encoder

        self.embedded += len(texts)
        return Encoder().encode(texts, progress)


def query_model(index_dir: Path) -> Path:
    """The ONNX question model of the project's current index build (what `followup ask` embeds questions
    with), or one in its embeddings cache; the index is built (`followup index`) when there is neither."""
    from followup.core.errors import IndexProblem
    from followup.embed.cpu import int8_dot_products
    from followup.index.layout import QUESTION_MODEL_FILE, QUESTION_MODEL_FP32_FILE, current_build, read_manifest
    from followup.index.reader import question_model

    for attempt in range(2):
        try:
            location = current_build(index_dir)
            model = question_model(location.path, read_manifest(location, verify_files=False))
            if model and model.is_file():
                return model
        except IndexProblem:
            pass
        name = QUESTION_MODEL_FILE if int8_dot_products() else QUESTION_MODEL_FP32_FILE  # as the reader picks
        cached = sorted((index_dir / "embeddings").glob(f"*-{name}"))
        if cached:
            return cached[-1]
        if attempt == 0:
            print("no ONNX question model yet: building the project index (followup index)", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "followup.cli", "index", "--index", str(index_dir)],
                           check=True, cwd=ROOT, stdout=sys.stderr)  # fmt: skip
    raise SystemExit(f"no question model under {index_dir} even after `followup index`")


def run_followup(dataset: BeirDataset, cache_dir: Path, onnx: Path, warmup: int) -> dict[str, Any]:
    started = time.perf_counter()
    chunk_encoder = _EncoderOnCacheMiss()
    index: BenchmarkIndex = build_benchmark_index(dataset, chunk_encoder.encode, DEFAULT_CHUNKING, cache_dir)
    build_seconds = time.perf_counter() - started
    encoder = OnnxQueryEncoder(onnx)
    params = DEFAULT_RETRIEVAL

    # Each part's time too (perf_counter costs well under a microsecond): where a query's time goes.
    parts: dict[str, list[float]] = {"query_embedding": [], "bm25": [], "dense": [], "fusion": []}

    def search(text: str, fusion: str) -> tuple[Ranked, Ranked, Ranked]:
        begun = time.perf_counter()
        vector = encoder.encode_query(text)
        embedded = time.perf_counter()
        lexical = index.lexical(text)
        scored = time.perf_counter()
        dense = index.dense(vector)
        searched = time.perf_counter()
        ranking = index.fused([lexical, dense], fusion, params.rrf_k, params.minmax_weights)
        ended = time.perf_counter()
        if fusion == params.fusion:
            spans = (embedded - begun, scored - embedded, searched - scored, ended - searched)
            for samples, seconds in zip(parts.values(), spans, strict=True):
                samples.append(seconds * 1000)
        return ranking, lexical, dense

    fusions = {"followup hybrid-minmax": "minmax", "followup hybrid-rrf": "rrf"}
    items = list(dataset.queries.items())
    for _, text in items[:warmup]:
        for fusion in fusions.values():
            search(text, fusion)
    for samples in parts.values():
        samples.clear()
    runs: dict[str, dict[str, dict[str, float]]] = {name: {} for name in fusions}
    extra: dict[str, dict[str, dict[str, float]]] = {
        "followup bm25": {}, "followup dense": {},
        "followup hybrid-minmax, 100 candidates": {}, "followup hybrid-rrf, 100 candidates": {},
    }  # fmt: skip
    latency: dict[str, list[float]] = {name: [] for name in fusions}
    progress = ProgressLine("followup queries")
    for done, (qid, text) in enumerate(items, start=1):
        for name, fusion in fusions.items():
            begun = time.perf_counter()
            ranking, lexical, dense = search(text, fusion)
            latency[name].append((time.perf_counter() - begun) * 1000)
            runs[name][qid] = index.as_run(ranking)
        # Untimed: each retriever alone, and fusion over the same 100 candidates per retriever Haystack gets.
        extra["followup bm25"][qid] = index.as_run(lexical)
        extra["followup dense"][qid] = index.as_run(dense)
        for fusion in fusions.values():
            shallow = index.fused([lexical.head(DEPTH), dense.head(DEPTH)], fusion, params.rrf_k, params.minmax_weights)
            extra[f"followup hybrid-{fusion}, 100 candidates"][qid] = index.as_run(shallow)
        progress(done, len(items))
    return {
        "runs": runs,
        "extra_runs": extra,
        "latency_ms": latency,
        "component_ms": {name: percentiles(samples) for name, samples in parts.items()},
        "index": {
            "documents": len(index.ids),
            "chunks": int(index.chunk_document.size),
            "build_seconds": build_seconds,
            "chunk_texts_embedded": chunk_encoder.embedded,  # 0 when the cache had every one
        },
        "query_model": str(onnx),
    }


# --- scoring and report ------------------------------------------------------------------------------------


def as_run(rankings: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """Rank-derived scores, as followup's BenchmarkIndex.as_run gives, so trec_eval keeps each system's order."""
    return {qid: {doc: float(DEPTH - n) for n, doc in enumerate(docs[:DEPTH])} for qid, docs in rankings.items()}


def compare(
    dataset_path: Path, split: str, cache_dir: Path, index_dir: Path, top_k: int, warmup: int, threads: int
) -> dict[str, Any]:
    dataset = load_beir(dataset_path, split)
    load_before = os.getloadavg()
    onnx = query_model(index_dir)
    print(f"followup: {dataset.name} ({split}), query encoder {onnx}", file=sys.stderr)
    mine = run_followup(dataset, cache_dir, onnx, warmup)
    theirs = run_haystack(dataset, dataset_path, top_k, warmup, threads)
    load_after = os.getloadavg()

    systems: dict[str, dict[str, Any]] = {}
    for name in FOLLOWUP:
        systems[name] = {
            **aggregate(dataset.qrels, mine["runs"][name]),
            "latency_ms": percentiles(mine["latency_ms"][name]),
        }
    hay_latency = [theirs["latency_ms"][q] for q in dataset.queries]
    systems[HAYSTACK] = {
        **aggregate(dataset.qrels, as_run(theirs["rankings"]["hybrid-rrf"])),
        "latency_ms": percentiles(hay_latency),
    }
    diagnostics = {name: aggregate(dataset.qrels, run) for name, run in mine["extra_runs"].items()}
    for name in ("bm25", "dense"):
        diagnostics[f"haystack {name}"] = aggregate(dataset.qrels, as_run(theirs["rankings"][name]))
    hay_p50 = systems[HAYSTACK]["latency_ms"]["p50"]
    index = theirs["index"]
    return {
        "benchmark": dataset.name,
        "split": split,
        "queries": len(dataset.queries),
        "machine": machine_line(describe_machine()),  # the CPU and the vector instructions it has
        "load_average_1min": {"start": load_before[0], "end": load_after[0]},
        "systems": systems,
        "speed_ratio_p50": {name: hay_p50 / systems[name]["latency_ms"]["p50"] for name in FOLLOWUP},
        "haystack": {
            "versions": theirs["versions"],
            "torch_threads": theirs["torch_threads"],
            "document_content": theirs["content"],
            "documents": theirs["documents"],
            "documents_over_max_tokens": theirs["truncated_documents"],
            "max_tokens": theirs["max_tokens"],
            "top_k": theirs["top_k"],
            "component_ms": {name: percentiles(samples) for name, samples in theirs["component_ms"].items()},
            "index_seconds": index["embed_seconds"] + index["write_seconds"],
            **index,
        },
        "followup": {
            **mine["index"],
            "query_model": mine["query_model"],
            "component_ms_of_default": mine["component_ms"],
            "onnx_threads": 1,
            "chunking": DEFAULT_CHUNKING.as_dict(),
            "candidates_per_retriever": 1000,
            "minmax_weights": list(DEFAULT_RETRIEVAL.minmax_weights),
            "rrf_k": DEFAULT_RETRIEVAL.rrf_k,
        },
        "diagnostics_no_latency": diagnostics,
        "warmup_queries": warmup,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"{report['benchmark']} ({report['split']}), {report['queries']} queries; {report['machine']}")
    print(f"{'system':42} {'nDCG@10':>8} {'R@100':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for name, row in report["systems"].items():
        lat = row["latency_ms"]
        print(f"{name:42} {row['nDCG@10']:8.4f} {row['R@100']:7.4f} {lat['p50']:8.2f} {lat['p95']:8.2f}")
    print("\nretrievers alone and fusion over 100 candidates (untimed):")
    for name, row in report["diagnostics_no_latency"].items():
        print(f"{name:42} {row['nDCG@10']:8.4f} {row['R@100']:7.4f}")
    hay = report["haystack"]
    print(f"\nHaystack {hay['versions']['haystack-ai']}: index {hay['index_seconds']:.1f} s for {hay['documents']} "
          f"documents (embedding {hay['embed_seconds']:.1f} s, store write {hay['write_seconds']:.2f} s; model load "
          f"{hay['model_load_seconds']:.1f} s); {hay['documents_over_max_tokens']} documents longer than "
          f"{hay['max_tokens']} word pieces, truncated")  # fmt: skip
    parts = ", ".join(f"{name} {row['p50']:.1f}" for name, row in hay["component_ms"].items())
    threads = hay["torch_threads"]
    print(f"Haystack components alone, p50 ms: {parts}; torch threads: indexing {threads['indexing']}, "
          f"queries {threads['queries']} (followup's ONNX query encoder: 1)")  # fmt: skip
    mine = report["followup"]
    parts = ", ".join(f"{name} {row['p50']:.1f}" for name, row in mine["component_ms_of_default"].items())
    print(f"followup hybrid-minmax parts, p50 ms: {parts}")
    print(
        f"followup: {mine['documents']} documents in {mine['chunks']} chunks; benchmark index built in "
        f"{mine['build_seconds']:.1f} s, {mine['chunk_texts_embedded']} chunk texts embedded (the rest cached)"
    )
    for name, ratio in report["speed_ratio_p50"].items():
        print(f"speed ratio (Haystack p50 / {name} p50): {ratio:.1f}x")
    load = report["load_average_1min"]
    print(f"1-minute load average: {load['start']:.2f} at start, {load['end']:.2f} at end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "benchmarks" / "nfcorpus")
    parser.add_argument("--split", default="test")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "embeddings", help="followup's embedding cache")
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="project index with the ONNX query encoder")
    parser.add_argument("--top-k", type=int, default=DEPTH, help="Haystack's top_k per retriever and joiner")
    parser.add_argument("--warmup", type=int, default=10, help="untimed queries before timing, each system")
    parser.add_argument("--haystack-threads", type=int, default=1,
                        help="torch threads for Haystack's queries, as followup's ONNX encoder uses one; 0: torch's "
                             "default (every core; slow when anything else runs on a 2-core machine)")  # fmt: skip
    parser.add_argument("--out", type=Path, help="results JSON (default: evals/runs/<time>-haystack-compare/)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    report = compare(args.dataset, args.split, args.cache, args.index, args.top_k, args.warmup, args.haystack_threads)
    out = args.out or ROOT / "evals" / "runs" / f"{time.strftime('%Y%m%dT%H%M%S')}-haystack-compare" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    print(f"results saved in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
