"""followup's half of bench/peers_compare.py, in the project's venv and a process of its own, so its peak
memory is its own as each peer's is. The project's own benchmark code builds the index (beir_eval's
build_benchmark_index: 80-word chunks, BM25 postings, the cached chunk embeddings, a document scoring as
its best chunk); each query is searched as `followup eval` searches a BEIR benchmark, BenchmarkIndex.lexical
and .dense fused by the project's defaults (min-max, weights (0.5, 1.0), 1,000 documents per retriever),
with the query vector from the shared folder instead of the ONNX encoder, as every stack gets it.

    .venv/bin/python bench/followup_peer_side.py --dataset DIR --cache DIR --variant bf16 --data DIR --out f.json
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import numpy as np

from followup import __version__
from followup.core.settings import DEFAULT_CHUNKING, DEFAULT_RETRIEVAL
from followup.evaluate.beir_data import load_beir
from followup.evaluate.beir_eval import CANDIDATES, build_benchmark_index
from followup.retrieve.hybrid import Ranked
from peers_data import read_peer_data, timed_queries, write_side_report

HYBRID = "followup hybrid-minmax"
FROZEN = "followup, gc frozen"  # a diagnostic: the same search, the garbage collector's full passes left out


def refuse_to_embed(texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    raise SystemExit(f"followup side: {len(texts)} chunk texts are not in the embedding cache; "
                     "peers_compare.py embeds them before it starts this side")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--cache", type=Path, required=True, help="followup's embedding cache")
    parser.add_argument("--variant", default="", help="how the cached chunks were embedded (bf16, fp32)")
    parser.add_argument("--data", type=Path, required=True, help="folder written by peers_compare.py")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    faiss.omp_set_num_threads(1)
    data = read_peer_data(args.data)
    started = time.perf_counter()
    index = build_benchmark_index(load_beir(args.dataset, args.split), refuse_to_embed, DEFAULT_CHUNKING, args.cache,
                                  args.variant)  # fmt: skip
    build_seconds = time.perf_counter() - started
    if index.chunk_texts != data.chunk_texts or index.ids != data.documents:
        raise SystemExit(f"followup side: the chunks of {args.dataset} differ from those in {args.data}")
    if not np.array_equal(index.vectors, data.chunk_vectors):
        raise SystemExit(f"followup side: the cached chunk vectors differ from {args.data}/chunk_vectors.npy")
    print(f"followup: {len(index.chunk_texts)} chunks indexed ({build_seconds:.1f} s, embeddings cached)",
          file=sys.stderr)  # fmt: skip

    params, depth = DEFAULT_RETRIEVAL, data.settings.depth
    parts: dict[str, list[float]] = {"bm25": [], "dense": [], "fusion": []}

    def search(number: int) -> list[str]:
        begun = time.perf_counter()
        lexical = index.lexical(data.query_texts[number])
        scored = time.perf_counter()
        dense = index.dense(data.query_vectors[number])
        searched = time.perf_counter()
        ranking = index.fused([lexical, dense], params.fusion, params.rrf_k, params.minmax_weights)
        ended = time.perf_counter()
        for part, seconds in zip(parts.values(), (scored - begun, searched - scored, ended - searched), strict=True):
            part.append(seconds * 1000)
        return [index.ids[d] for d in ranking.items[:depth].tolist()]

    queries = len(data.query_ids)
    rankings, latency_ms = timed_queries(search, queries, data.settings.warmup, parts)
    # The same queries again with Python's cyclic garbage collector frozen (gc.freeze: the objects alive now
    # are never traversed again): what of the latency's tail is full collections over this process's objects.
    gc.collect()
    gc.freeze()
    _, frozen_ms = timed_queries(search, queries, data.settings.warmup)
    gc.unfreeze()

    def alone(ranked: Callable[[int], Ranked]) -> list[list[str]]:
        """One retriever's own document rankings, in a pass of their own, untimed."""
        return [[index.ids[d] for d in ranked(n).items[:depth].tolist()] for n in range(queries)]

    write_side_report(args.out, {
        "versions": {"followup": __version__, "numpy": np.__version__, "faiss-cpu": faiss.__version__},
        "index_seconds": {"build_benchmark_index, embeddings cached": build_seconds},
        "systems": {
            HYBRID: {"rankings": rankings, "latency_ms": latency_ms},
            FROZEN: {"rankings": rankings, "latency_ms": frozen_ms},
            "followup bm25": {"rankings": alone(lambda n: index.lexical(data.query_texts[n]))},
            "followup dense": {"rankings": alone(lambda n: index.dense(data.query_vectors[n]))},
        },
        "component_ms": parts,
        "fusion": {"method": params.fusion, "minmax_weights": list(params.minmax_weights)},
        "candidates_per_retriever": {"documents": CANDIDATES},
    })  # fmt: skip


if __name__ == "__main__":
    main()
