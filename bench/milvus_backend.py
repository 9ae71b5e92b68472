"""The Milvus backend on milvus-lite 2.5.1: writing a build, and search latency beside the embedded one.

A synthetic library (default 50,000 chunks of 20-140 tokens from a 30,000-term Zipf vocabulary, articles
of 25 chunks, random 384-d unit vectors: no model, so the figures are the backend's alone) is written to
a collection of a milvus-lite engine started for the run (its own temporary directory, a free port).
Reported: the time to turn the BM25 postings into sparse rows, insert throughput (rows/s, the insert
calls only), the time to flush, index and load, then p50/p95 over the same queries, Milvus and embedded
(BM25 postings + faiss flat), of lexical, semantic and hybrid (followup.retrieve.hybrid.rank_chunks, k0 = 50)
searches, in the whole library and scoped to one and to ten articles.

    python bench/milvus_backend.py [--chunks 50000] [--queries 200] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# tests.milvus_engine: the milvus-lite engine process the backend tests start
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.milvus_engine import MilvusLiteEngine

from followup.core.settings import RetrievalParams
from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.milvus import (
    ChunkRows,
    MilvusBackend,
    MilvusRetriever,
    MilvusSettings,
    Vocabulary,
    bm25_sparse_rows,
)
from followup.index.retrievers import EmbeddedRetriever, Retriever, SearchScope
from followup.retrieve.hybrid import rank_chunks

DIMENSION = 384
CHUNKS_PER_ARTICLE = 25


def synthetic_library(chunks: int, seed: int = 0) -> tuple[list[list[str]], np.ndarray, tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 140, size=chunks)
    ranks = np.minimum(rng.zipf(1.1, size=int(lengths.sum())), 30_000)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    tokens = [[f"t{r}" for r in ranks[starts[i] : starts[i + 1]].tolist()] for i in range(chunks)]
    vectors = rng.normal(size=(chunks, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    articles = tuple(f"article-{i // CHUNKS_PER_ARTICLE:05d}" for i in range(chunks))
    return tokens, vectors, articles


def percentiles(run: Callable[[int], object], count: int) -> dict[str, float]:
    """p50 and p95 in milliseconds of run(i) for i < count, after a few warm-up calls."""
    for i in range(min(5, count)):
        run(i)
    times = []
    for i in range(count):
        started = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))]}


def search_figures(
    retriever: Retriever,
    queries: list[list[str]],
    vectors: np.ndarray,
    scopes: dict[str, list[SearchScope | None]],
) -> dict[str, dict[str, float]]:
    params = RetrievalParams()
    k0 = params.candidates_per_retriever
    n = len(queries)
    figures: dict[str, dict[str, float]] = {}
    for label, among in scopes.items():
        runs: dict[str, Callable[[int], object]] = {
            "lexical": lambda i, among=among: retriever.lexical(queries[i], k0, among[i]),  # type: ignore[misc]
            "semantic": lambda i, among=among: retriever.semantic(vectors[i], k0, among[i]),  # type: ignore[misc]
            "hybrid": lambda i, among=among: rank_chunks(  # type: ignore[misc]
                retriever, queries[i], vectors[i], "hybrid", params, among[i]
            ),
        }
        for kind, run in runs.items():
            figures[f"{kind} {label}"] = percentiles(run, n)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=MilvusSettings.batch_size, help="rows per insert call")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    tokens, vectors, articles = synthetic_library(args.chunks)
    report: dict[str, Any] = {"chunks": args.chunks, "dimension": DIMENSION}
    started = time.perf_counter()
    bm25 = BM25Index(tokens)
    report["bm25_build_s"] = time.perf_counter() - started
    started = time.perf_counter()
    sparse = bm25_sparse_rows(bm25)
    report["sparse_rows_s"] = time.perf_counter() - started
    report["sparse_entries"] = len(sparse.term_ids)
    rows = ChunkRows(np.arange(args.chunks, dtype=np.int64), articles, vectors, sparse)

    rng = np.random.default_rng(1)
    queries = [
        list(rng.choice(tokens[int(rng.integers(args.chunks))], size=int(rng.integers(3, 7))))
        for _ in range(args.queries)
    ]
    query_vectors = rng.normal(size=(args.queries, DIMENSION)).astype(np.float32)
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
    article_names = sorted(set(articles))

    def scope_of(names: list[str]) -> SearchScope:
        wanted = set(names)
        return SearchScope(tuple(names), np.array([i for i, a in enumerate(articles) if a in wanted], np.int64))

    picks = [rng.choice(len(article_names), size=10, replace=False).tolist() for _ in range(args.queries)]
    scopes: dict[str, list[SearchScope | None]] = {
        "library": [None] * args.queries,
        "1 article": [scope_of([article_names[p[0]]]) for p in picks],
        "10 articles": [scope_of([article_names[j] for j in p]) for p in picks],
    }

    with tempfile.TemporaryDirectory() as directory, MilvusLiteEngine(Path(directory)) as engine:
        backend = MilvusBackend(engine.uri, dataclasses.replace(MilvusSettings.lite(), batch_size=args.batch))
        insert_done: list[float] = []
        started = time.perf_counter()
        backend.write_collection("bench_v1", rows, lambda done, total: insert_done.append(time.perf_counter()))
        finished = time.perf_counter()
        report["insert_rows_per_s"] = args.chunks / (insert_done[-1] - started)
        report["flush_index_load_s"] = finished - insert_done[-1]
        milvus = MilvusRetriever(backend, "bench_v1", Vocabulary(bm25))
        report["milvus"] = search_figures(milvus, queries, query_vectors, scopes)
        backend.close()

    embedded = EmbeddedRetriever(bm25, DenseIndex.build(vectors, flat_limit=args.chunks))
    report["embedded"] = search_figures(embedded, queries, query_vectors, scopes)

    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.chunks:,} chunks, {DIMENSION}-d, {report['sparse_entries']:,} BM25 entries")
    print(
        f"BM25 index build {report['bm25_build_s']:.2f} s; "
        f"sparse rows from its postings {report['sparse_rows_s']:.2f} s"
    )
    print(
        f"insert {report['insert_rows_per_s']:,.0f} rows/s; flush + index + load {report['flush_index_load_s']:.2f} s"
    )
    print(f"{'search (k0=50)':<24}{'milvus p50':>12}{'p95':>9}{'embedded p50':>15}{'p95':>9}   (ms)")
    for name, figure in report["milvus"].items():
        other = report["embedded"][name]
        print(
            f"{name:<24}{figure['p50_ms']:>12.2f}{figure['p95_ms']:>9.2f}{other['p50_ms']:>15.2f}{other['p95_ms']:>9.2f}"
        )


if __name__ == "__main__":
    main()
