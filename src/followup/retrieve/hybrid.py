"""Ranking chunks or documents for one query: each retriever's scores, fused. Shared by `ask` and `eval`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from followup.core.defaults import RetrievalParams
from followup.index.backends.base import Ranking, Retriever, SearchScope
from followup.index.backends.embedded import top_scores
from followup.retrieve.fusion import min_max_fusion, reciprocal_rank_fusion

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
