"""Ranking chunks or documents for one query: each retriever's scores, fused. Shared by `ask` and `eval`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from followup.bm25 import BM25Index
from followup.config import RetrievalParams
from followup.dense import DenseIndex
from followup.fusion import Ranking, min_max_fusion, reciprocal_rank_fusion

FUSIONS = ("rrf", "minmax")


def top_scores(scores: np.ndarray, k: int, positive_only: bool = False) -> list[tuple[int, float]]:
    """The k highest entries of a score array as (index, score), best first; ties by smaller index."""
    candidates = np.flatnonzero(scores > 0) if positive_only else np.arange(scores.size)
    if candidates.size > k:
        candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
    order = sorted(candidates.tolist(), key=lambda i: (-float(scores[i]), i))
    return [(i, float(scores[i])) for i in order]


def fuse(
    rankings: Sequence[Ranking], method: str, rrf_k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    if method == "rrf":
        return reciprocal_rank_fusion(rankings, k=rrf_k)
    if method == "minmax":
        return min_max_fusion(rankings, weights)
    raise ValueError(f"unknown fusion {method!r}; use one of {', '.join(FUSIONS)}")


def best_chunk_per_document(chunk_scores: np.ndarray, chunk_document: np.ndarray, documents: int) -> np.ndarray:
    """A document's score is its best chunk's (MaxP); documents without chunks score -inf."""
    scores = np.full(documents, -np.inf, dtype=np.float32)
    np.maximum.at(scores, chunk_document, chunk_scores)
    return scores


def rank_chunks(
    bm25: BM25Index,
    dense: DenseIndex,
    tokens: Sequence[str],
    vector: np.ndarray,
    mode: str,
    params: RetrievalParams,
    allowed: np.ndarray | None = None,
) -> list[tuple[int, float]]:
    """Chunks for one query, best first: each retriever's k0 best (within `allowed`, ascending chunk
    ids, when the question is scoped to an article), fused in hybrid mode."""
    k0 = params.candidates_per_retriever
    lexical: list[tuple[int, float]] = []
    if mode != "dense":
        if allowed is None:
            lexical = top_scores(bm25.scores(tokens), k0, positive_only=True)
        else:
            lexical = [(int(allowed[i]), s) for i, s in top_scores(bm25.scores_for(tokens, allowed), k0, True)]
    semantic = dense.search(vector, k0, allowed) if mode != "bm25" else []
    if mode == "hybrid":
        return fuse([lexical, semantic], params.fusion, params.rrf_k, params.minmax_weights)
    return lexical or semantic
