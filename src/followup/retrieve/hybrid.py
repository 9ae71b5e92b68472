"""Ranking chunks or documents for one query: each retriever's scores, fused (rank fusion: pure
functions over ranked lists of (item, score), best first). Shared by `ask` and `eval`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from followup.core.settings import RetrievalParams
from followup.index.retrievers import Ranking, Retriever, SearchScope, top_scores


def reciprocal_rank_fusion(rankings: Sequence[Ranking], k: int = 60) -> Ranking:
    """RRF (Cormack, Clarke and Buettcher 2009): score(d) = sum over rankings of 1 / (k + rank(d)),
    ranks 1-based, k=60 as in the paper and Pyserini. Ties keep the smaller item id first."""
    parts = [(_items(r), 1.0 / (k + np.arange(1, len(r) + 1))) for r in rankings if r]
    return _summed(parts)


def min_max_fusion(rankings: Sequence[Ranking], weights: Sequence[float] | None = None) -> Ranking:
    """Each ranking's scores scaled to [0, 1] (min-max over its candidates), then a weighted sum;
    an item missing from a ranking contributes 0 there. A ranking whose scores are all equal maps to 1."""
    weights = weights or [1.0] * len(rankings)
    parts = []
    for weight, ranking in zip(weights, rankings, strict=True):
        if not ranking:
            continue
        scores = np.fromiter((s for _, s in ranking), dtype=np.float64, count=len(ranking))
        low, high = scores.min(), scores.max()
        scaled = (scores - low) / (high - low) if high > low else np.ones_like(scores)
        parts.append((_items(ranking), weight * scaled))
    return _summed(parts)


def _items(ranking: Ranking) -> np.ndarray:
    return np.fromiter((item for item, _ in ranking), dtype=np.int64, count=len(ranking))


def _summed(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> Ranking:
    """Each item's values added up from 0.0 in the order the parts give them (np.add.at adds in index
    order), as a dict of floats would, in numpy: the same floats; best first, ties by smaller item."""
    if not parts:
        return []
    items, inverse = np.unique(np.concatenate([i for i, _ in parts]), return_inverse=True)
    sums = np.zeros(items.size, dtype=np.float64)
    np.add.at(sums, inverse, np.concatenate([v for _, v in parts]))
    order = np.lexsort((items, -sums))
    return list(zip(items[order].tolist(), sums[order].tolist(), strict=True))


__all__ = ["FUSIONS", "best_chunk_per_document", "fuse", "rank_chunks", "top_scores"]

FUSIONS = ("rrf", "minmax")


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
    retriever: Retriever,
    tokens: Sequence[str],
    vector: np.ndarray,
    mode: str,
    params: RetrievalParams,
    scope: SearchScope | None = None,
) -> list[tuple[int, float]]:
    """Chunks for one query, best first: each retriever's k0 best (within `scope` when the question is
    scoped to articles), fused in hybrid mode. Fusion stays here, whatever backend searches: Milvus's
    own rankers normalise otherwise (arctan), and the answers must not depend on the backend."""
    k0 = params.candidates_per_retriever
    lexical = retriever.lexical(tokens, k0, scope) if mode != "dense" else []
    semantic = retriever.semantic(vector, k0, scope) if mode != "bm25" else []
    if mode == "hybrid":
        return fuse([lexical, semantic], params.fusion, params.rrf_k, params.minmax_weights)
    return lexical or semantic
