"""The lean floor's half of bench/peers_compare.py: bm25s + faiss, the least a hybrid search can be. Runs in
its own venv (.cache/floor-venv), never the project's, and imports nothing from followup.

BM25: bm25s (method "robertson", k1=1.5, b=0.75: rank-bm25's BM25Okapi, which followup computes, but for a
term in more than half the chunks, whose idf bm25s clamps at 0 where BM25Okapi floors it at a quarter of
the mean idf; its constant (k1 + 1) factor changes no ranking) over the chunk texts, tokenized by bm25s's
own tokenizer set as close to followup's as it allows: lower-cased, followup's word pattern and stopword
list, PyStemmer's English Snowball stemmer. What still differs: followup also folds British spellings
("ae" -> "e" in words of six letters or more) before stemming. Dense: faiss IndexFlatIP (exact) over
the supplied chunk vectors, searched with the supplied query vector. Each retriever's top `candidates`
(1,000) chunks, a document scoring as its best chunk (MaxP), each retriever's document scores min-max
scaled and summed with followup's default weights; ties go to the smaller document number, as in
followup's fusion.

    .cache/floor-venv/bin/python bench/floor_side.py --data DIR --out floor.json
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from peers_data import PeerData, read_peer_data, timed_queries, write_side_report

HYBRID = "floor hybrid-minmax"


def document_scores(
    chunks: np.ndarray, scores: np.ndarray, chunk_document: np.ndarray, documents: int
) -> tuple[np.ndarray, np.ndarray]:
    """The documents of the ranked chunks and each one's best chunk score (MaxP)."""
    best = np.full(documents, -np.inf, dtype=np.float32)
    np.maximum.at(best, chunk_document[chunks], scores)
    found = np.flatnonzero(np.isfinite(best))
    return found, best[found]


def min_max(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.ones_like(values)  # as followup's fusion


def fused_documents(rankings: list[tuple[np.ndarray, np.ndarray]], weights: tuple[float, float], documents: int,
                    depth: int) -> list[int]:  # fmt: skip
    """Documents by the weighted sum of their min-max scaled scores (a document missing from a ranking adds
    0 there), best first, ties by smaller document number."""
    fused = np.zeros(documents, dtype=np.float64)
    present = np.zeros(documents, dtype=bool)
    for weight, (found, scores) in zip(weights, rankings, strict=True):
        if found.size:
            fused[found] += weight * min_max(scores.astype(np.float64))
            present[found] = True
    candidates = np.flatnonzero(present)
    order = np.lexsort((candidates, -fused[candidates]))[:depth]
    return [int(d) for d in candidates[order]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder written by peers_compare.py")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import bm25s  # type: ignore[import-not-found]
    import faiss
    import Stemmer

    faiss.omp_set_num_threads(1)
    data: PeerData = read_peer_data(args.data)
    settings = data.settings
    stemmer = Stemmer.Stemmer("english")
    stopwords = list(settings.stopwords)

    def tokens(texts: list[str]) -> Any:
        return bm25s.tokenize(texts, lower=True, token_pattern=settings.token_pattern, stopwords=stopwords,
                              stemmer=stemmer, return_ids=False, show_progress=False)  # fmt: skip

    started = time.perf_counter()
    retriever = bm25s.BM25(method="robertson", k1=1.5, b=0.75)
    retriever.index(tokens(data.chunk_texts), show_progress=False)
    bm25_seconds = time.perf_counter() - started
    started = time.perf_counter()
    dense = faiss.IndexFlatIP(data.chunk_vectors.shape[1])
    dense.add(data.chunk_vectors)
    faiss_seconds = time.perf_counter() - started
    print(f"floor: {len(data.chunk_texts)} chunks indexed (bm25s {bm25_seconds:.1f} s, faiss {faiss_seconds:.2f} s)",
          file=sys.stderr)  # fmt: skip

    documents, k = len(data.documents), min(settings.candidates, len(data.chunk_texts))
    parts: dict[str, list[float]] = {"bm25": [], "dense": [], "fusion": []}
    Scored = tuple[np.ndarray, np.ndarray]  # documents and their scores

    def lexical(number: int) -> Scored:
        query = tokens([data.query_texts[number]])[0]
        if not query:  # bm25s refuses an empty query; no term, no BM25 ranking
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        found = retriever.retrieve([query], k=k, show_progress=False, n_threads=0)
        return document_scores(found.documents[0], found.scores[0], data.chunk_document, documents)

    def semantic(number: int) -> Scored:
        similarity, chunks = dense.search(data.query_vectors[number : number + 1], k)
        return document_scores(chunks[0], similarity[0], data.chunk_document, documents)

    def search(number: int) -> list[str]:
        begun = time.perf_counter()
        bm25 = lexical(number)
        scored = time.perf_counter()
        vectors = semantic(number)
        searched = time.perf_counter()
        ranking = fused_documents([bm25, vectors], settings.weights, documents, settings.depth)
        ended = time.perf_counter()
        for part, seconds in zip(parts.values(), (scored - begun, searched - scored, ended - searched), strict=True):
            part.append(seconds * 1000)
        return [data.documents[d] for d in ranking]

    queries = len(data.query_ids)
    rankings, latency_ms = timed_queries(search, queries, settings.warmup, parts)

    def alone(ranked: Callable[[int], Scored]) -> list[list[str]]:
        """One retriever's own document rankings, in a pass of their own, untimed."""
        lists = []
        for number in range(queries):
            found, scores = ranked(number)
            lists.append([data.documents[d] for d in found[np.lexsort((found, -scores))][: settings.depth]])
        return lists

    write_side_report(args.out, {
        "versions": {p: metadata.version(p) for p in ("bm25s", "faiss-cpu", "numpy", "PyStemmer")},
        "index_seconds": {"bm25s": bm25_seconds, "faiss": faiss_seconds},
        "systems": {
            HYBRID: {"rankings": rankings, "latency_ms": latency_ms},
            "floor bm25": {"rankings": alone(lexical)},
            "floor dense": {"rankings": alone(semantic)},
        },
        "component_ms": parts,
        "bm25": {"method": "robertson", "k1": 1.5, "b": 0.75, "stemmer": "PyStemmer english",
                 "token_pattern": settings.token_pattern, "stopwords": "followup's"},
        "candidates_per_retriever": k,
    })  # fmt: skip


if __name__ == "__main__":
    main()
