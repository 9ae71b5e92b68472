"""BM25's k best chunks by MaxScore (BM25Index.top) against scoring every posting, and the BEIR path's
hybrid retrieval, per query, on one benchmark's chunks (NFCorpus by default) and on a synthetic corpus
grown from them.

    python bench/bm25_topk.py [--dataset ../shared/benchmarks/nfcorpus] [--split test] [--sizes 1000000]
                              [--runs 5] [--parts bm25 beir] [--json]

bm25: each query's top-10 and top-1000 chunks, exhaustive (every posting scored, then ranked, as
`ask` ranked them before) and by MaxScore; both rankings are checked equal. On the benchmark's chunks
(chunked as `followup eval` chunks them) and on synthetic corpora of --sizes chunks, made by
bench/scale.py's maker from those chunks (beyond them, each chunk is the first half of one real chunk's
tokens and the second half of another's); the queries are the split's. beir: the hybrid-minmax
retrieval `followup eval` times (BM25 and dense document rankings, min-max fusion), query encoding
excluded, over cached embeddings (run `followup eval DATASET` once first).

The machine is shared: every figure is the median, over --runs runs, of each run's percentile.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from followup.core.settings import DEFAULT_CHUNKING, DEFAULT_RETRIEVAL
from followup.core.words import tokenize
from followup.evaluate.beir_data import BeirDataset, load_beir
from followup.evaluate.beir_eval import as_documents, build_benchmark_index
from followup.index.bm25 import BM25Index
from followup.index.retrievers import top_scores
from followup.ingest.chunking import chunk_documents, indexed_text
from machine import describe_machine, machine_line
from scale import Base, synthetic

DEPTHS = (10, 1000)
CACHE = Path(".cache/embeddings")


def median_percentiles(runs: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Each run's p50 and p99 in ms, and their medians over the runs."""
    per_run = [(float(np.percentile(r, 50)) * 1000, float(np.percentile(r, 99)) * 1000) for r in runs]
    return {"p50_ms": statistics.median(p for p, _ in per_run), "p99_ms": statistics.median(p for _, p in per_run),
            "p50_ms_runs": [round(p, 3) for p, _ in per_run]}  # fmt: skip


def timed_runs(queries: Sequence[Any], run: Callable[[Any], object], runs: int) -> list[list[float]]:
    for query in queries[:10]:
        run(query)  # warm-up
    samples = []
    for _ in range(runs):
        times = []
        for query in queries:
            started = time.perf_counter()
            run(query)
            times.append(time.perf_counter() - started)
        samples.append(times)
    return samples


def chunk_tokens(dataset: BeirDataset) -> list[list[str]]:
    """The benchmark's chunks' BM25 tokens, chunked as `followup eval` chunks them."""
    documents = [d for d in as_documents(dataset) if d.text.strip()]
    texts = {d.id: d.text for d in documents}
    return [tokenize(indexed_text(c, texts[c.doc_id])) for c in chunk_documents(documents, DEFAULT_CHUNKING)]


def bm25_point(name: str, tokens: list[list[str]], queries: list[list[str]], runs: int) -> dict[str, Any]:
    started = time.perf_counter()
    bm25 = BM25Index(tokens)
    built = time.perf_counter() - started
    print(f"{name}: {len(tokens):,} chunks, BM25 built in {built:.1f} s", file=sys.stderr)
    point: dict[str, Any] = {"corpus": name, "chunks": len(tokens), "queries": len(queries)}
    for k in DEPTHS:
        for query in queries:  # the point of the new path: the same ranking
            if bm25.top(query, k) != top_scores(bm25.scores(query), k, positive_only=True):
                raise SystemExit(f"{name}: top-{k} differs from the exhaustive ranking for {query}")

        def exhaustive_ranking(query: list[str], k: int = k) -> object:
            return top_scores(bm25.scores(query), k, positive_only=True)

        def maxscore_ranking(query: list[str], k: int = k) -> object:
            return bm25.top(query, k)

        exhaustive = timed_runs(queries, exhaustive_ranking, runs)
        maxscore = timed_runs(queries, maxscore_ranking, runs)
        point[f"top{k}"] = {"exhaustive": median_percentiles(exhaustive), "maxscore": median_percentiles(maxscore)}
    return point


def beir_hybrid(dataset: BeirDataset, runs: int) -> dict[str, Any]:
    """The hybrid-minmax retrieval of `followup eval` per query, query encoding excluded."""
    from followup.embed.encoder import OnnxQueryEncoder
    from followup.embed.onnx_export import kept_query_model
    from followup.index.layout import QUERY_MODEL_FILE

    def no_embedding(texts: Sequence[str], progress: Callable[[int, int], None]) -> np.ndarray:
        raise SystemExit(f"no cached chunk embeddings in {CACHE}: run `followup eval` on the benchmark once")

    index = build_benchmark_index(dataset, no_embedding, DEFAULT_CHUNKING, CACHE, "bf16")
    model = kept_query_model(CACHE, QUERY_MODEL_FILE)
    if not model.is_file():
        raise SystemExit(f"no query encoder at {model}: run `followup eval` on the benchmark once")
    encoder = OnnxQueryEncoder(model, threads=1)
    queries = [(text, encoder.encode_query(text)) for text in dataset.queries.values()]
    weights = DEFAULT_RETRIEVAL.minmax_weights

    def hybrid(query: tuple[str, np.ndarray]) -> object:
        return index.fused([index.lexical(query[0]), index.dense(query[1])], "minmax", weights=weights)

    return {"queries": len(queries), "chunks": len(index.chunk_document),
            "bm25": median_percentiles(timed_runs(queries, lambda q: index.lexical(q[0]), runs)),
            "dense": median_percentiles(timed_runs(queries, lambda q: index.dense(q[1]), runs)),
            "hybrid_minmax": median_percentiles(timed_runs(queries, hybrid, runs))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=Path("../shared/benchmarks/nfcorpus"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000], help="synthetic corpora's chunks")
    parser.add_argument("--runs", type=int, default=5, help="runs over the queries; figures are their medians")
    parser.add_argument("--parts", nargs="+", choices=("bm25", "beir"), default=["bm25", "beir"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    dataset = load_beir(args.dataset, args.split)
    report: dict[str, Any] = {"machine": machine_line(describe_machine()), "dataset": dataset.name,
                              "split": args.split, "runs": args.runs, "date": time.strftime("%Y-%m-%d")}  # fmt: skip
    if "bm25" in args.parts:
        tokens = chunk_tokens(dataset)
        queries = [q for q in (tokenize(t) for t in dataset.queries.values()) if q]
        report["bm25"] = [bm25_point(dataset.name, tokens, queries, args.runs)]
        for size in args.sizes:
            base = Base(np.ones((len(tokens), 1), np.float32), tokens, np.zeros((0, 1)), queries)  # tokens only
            grown = synthetic(base, size)[1]
            report["bm25"].append(bm25_point(f"synthetic from {dataset.name}", grown, queries, args.runs))
            del grown
    if "beir" in args.parts:
        report["beir"] = beir_hybrid(dataset, args.runs)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print_report(report)


def print_report(report: dict[str, Any]) -> None:
    print(f"machine: {report['machine']}; {report['dataset']} {report['split']} queries; medians of "
          f"{report['runs']} runs")  # fmt: skip
    if "bm25" in report:
        print("\nBM25 per query, p50 / p99 ms: every posting scored, then by MaxScore (identical rankings)")
        print("| corpus | chunks | " + " | ".join(f"top-{k} exhaustive | top-{k} MaxScore" for k in DEPTHS) + " |")
        print("|---|---|" + "---|---|" * len(DEPTHS))
        for p in report["bm25"]:
            cells = " | ".join(f"{p[f'top{k}'][way]['p50_ms']:.3f} / {p[f'top{k}'][way]['p99_ms']:.2f}"
                               for k in DEPTHS for way in ("exhaustive", "maxscore"))  # fmt: skip
            print(f"| {p['corpus']} | {p['chunks']:,} | {cells} |")
    if "beir" in report:
        b = report["beir"]
        print(f"\nBEIR path ({b['chunks']:,} chunks, {b['queries']} queries, query encoding excluded), p50 / p99 ms:")
        for part in ("bm25", "dense", "hybrid_minmax"):
            figures = b[part]
            runs = figures["p50_ms_runs"]
            print(f"  {part:14} {figures['p50_ms']:.2f} / {figures['p99_ms']:.2f}  (each run's p50: {runs})")


if __name__ == "__main__":
    main()
