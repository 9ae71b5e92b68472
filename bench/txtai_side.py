"""txtai's half of bench/peers_compare.py; runs in txtai's own venv (.cache/txtai-venv), never the project's,
and imports nothing from followup.

A txtai 9.x Embeddings index with hybrid search, as its documentation builds one ({"hybrid": True}) over
the same chunk texts, with the dense vectors supplied: method "external", whose transform function looks
each text up among the supplied vectors (the chunks' at indexing, the query's at search), so no model
runs. Otherwise txtai's own defaults: its sparse side is its BM25 term index (k1=1.2, b=0.75, Lucene's
idf, its Unicode word tokenizer: no stemming, no stopwords), normalised and fused with the dense cosine
by a convex combination, weights 0.5/0.5 (txtai's Hybrid.convex); each side returns 10 x `limit`
candidates. One change: txtai indexes more than 5,000 vectors in an approximate faiss IVF index, and
here it gets an exact one ("IDMap,Flat"), so all three stacks search the same vectors exactly. A
document scores as its best chunk in txtai's ranking (MaxP).

    .cache/txtai-venv/bin/python bench/txtai_side.py --data DIR --out txtai.json [--limit 300]
"""

from __future__ import annotations

import os

# Set before txtai, transformers or huggingface_hub is imported: no hub, no network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import argparse
import gc
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from peers_data import best_chunk_documents, read_peer_data, timed_queries, write_side_report

HYBRID = "txtai hybrid-convex"


def supplied_vectors(texts: Sequence[str], vectors: np.ndarray) -> Callable[[Sequence[str]], np.ndarray]:
    """txtai's external transform (a plain function: txtai calls any other callable to make one): each
    text's supplied vector. Equal texts share one vector (a text's embedding depends on the text alone); a
    text never supplied is an error, never a silent zero."""
    rows = {text: row for row, text in enumerate(texts)}

    def transform(batch: Sequence[str]) -> np.ndarray:
        try:
            return vectors[[rows[t] for t in batch]]
        except KeyError as error:
            raise KeyError(f"no supplied vector for the text {str(error)[:80]}") from None

    return transform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder written by peers_compare.py")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=300, help="chunks a hybrid search returns (txtai's limit)")
    args = parser.parse_args()

    import faiss
    import torch  # txtai imports it; one thread, as every stack gets
    from txtai import Embeddings  # type: ignore[import-not-found]

    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    data = read_peer_data(args.data)
    texts = [*data.chunk_texts, *data.query_texts]
    transform = supplied_vectors(texts, np.concatenate([data.chunk_vectors, data.query_vectors]))
    config: dict[str, Any] = {"method": "external", "transform": transform, "hybrid": True, "content": False,
                              "backend": "faiss", "faiss": {"components": "IDMap,Flat"}}  # fmt: skip
    started = time.perf_counter()
    embeddings = Embeddings(config)
    embeddings.index([(chunk, text, None) for chunk, text in enumerate(data.chunk_texts)])
    index_seconds = time.perf_counter() - started
    print(f"txtai: {embeddings.count()} chunks indexed ({index_seconds:.1f} s)", file=sys.stderr)

    depth = data.settings.depth
    short: list[int] = []  # queries whose `limit` chunks held fewer than `depth` documents

    def documents(results: list[tuple[Any, float]]) -> list[str]:
        found = best_chunk_documents([int(chunk) for chunk, _ in results], data.chunk_document, depth)
        return [data.documents[d] for d in found]

    def search(number: int) -> list[str]:
        ranked = documents(embeddings.search(data.query_texts[number], limit=args.limit))
        if len(ranked) < depth:
            short.append(number)
        return ranked

    rankings, latency_ms = timed_queries(search, len(data.query_ids), data.settings.warmup)
    short_queries = len(set(short))
    # Again with Python's cyclic garbage collector frozen, as followup's half does: what of the tail is its
    # full collections.
    gc.collect()
    gc.freeze()
    _, frozen_ms = timed_queries(search, len(data.query_ids), data.settings.warmup)
    gc.unfreeze()

    # Each side alone, untimed: txtai's own weights of 1 and 0 keep one side's candidates.
    def alone(dense_weight: float) -> list[list[str]]:
        return [documents(embeddings.search(text, limit=args.limit, weights=dense_weight)) for text in data.query_texts]

    write_side_report(args.out, {
        "versions": {p: metadata.version(p) for p in ("txtai", "faiss-cpu", "numpy", "torch")},
        "index_seconds": {"embeddings.index": index_seconds},
        "systems": {
            HYBRID: {"rankings": rankings, "latency_ms": latency_ms},
            "txtai, gc frozen": {"rankings": rankings, "latency_ms": frozen_ms},
            "txtai dense": {"rankings": alone(1.0)},
            "txtai bm25": {"rankings": alone(0.0)},
        },
        "limit_chunks": args.limit,
        "candidates_per_side": 10 * args.limit,
        "queries_under_depth": short_queries,
        "scoring": embeddings.config.get("scoring"),
        "faiss_components": "IDMap,Flat",
    })  # fmt: skip


if __name__ == "__main__":
    main()
