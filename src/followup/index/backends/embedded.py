"""The default backend: BM25 postings (index/bm25.py) and a faiss index (index/dense.py), memory-mapped or loaded
into this process. Nothing to start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from followup.index.backends.base import Ranking, SearchScope
from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex


def top_scores(scores: np.ndarray, k: int, positive_only: bool = False) -> Ranking:
    """The k highest entries of a score array as (index, score), best first; ties by smaller index."""
    candidates = np.flatnonzero(scores > 0) if positive_only else np.arange(scores.size)
    if candidates.size > k:
        # Every candidate tied with the k-th best stays until the sort, so the cut is by smaller index
        # too (argpartition alone picks among ties arbitrarily, and another engine could not agree).
        cut = np.partition(scores[candidates], candidates.size - k)[candidates.size - k]
        candidates = candidates[scores[candidates] >= cut]
    order = sorted(candidates.tolist(), key=lambda i: (-float(scores[i]), i))[:k]
    return [(i, float(scores[i])) for i in order]


@dataclass(frozen=True)
class EmbeddedRetriever:
    bm25: BM25Index
    dense: DenseIndex

    def lexical(self, tokens: Sequence[str], k: int, scope: SearchScope | None = None) -> Ranking:
        if scope is None:
            return top_scores(self.bm25.scores(tokens), k, positive_only=True)
        allowed = scope.chunks
        return [(int(allowed[i]), s) for i, s in top_scores(self.bm25.scores_for(tokens, allowed), k, True)]

    def semantic(self, vector: np.ndarray, k: int, scope: SearchScope | None = None) -> Ranking:
        return self.dense.search(vector, k, None if scope is None else scope.chunks)
