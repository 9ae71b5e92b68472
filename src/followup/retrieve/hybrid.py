"""Ranking chunks or documents for one query: each retriever's scores, fused (rank fusion: pure
functions over ranked lists of (item, score), best first, or the same as arrays: `Ranked`). Shared by
`ask` and `eval`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from followup.core.settings import RetrievalParams
from followup.index.retrievers import Ranking, Retriever, SearchScope, top_scores


@dataclass(frozen=True, eq=False)
class Ranked:
    """A ranking as arrays, best first: `items` (int64) and their `scores`. The benchmark path keeps
    its 1,000-document rankings so: as lists of tuples, building and reading them back cost more than
    the search (0.45 ms of fusion a NFCorpus query, against 0.05 ms)."""

    items: np.ndarray
    scores: np.ndarray

    @classmethod
    def of(cls, ranking: Ranking) -> Ranked:
        items = np.fromiter((item for item, _ in ranking), dtype=np.int64, count=len(ranking))
        return cls(items, np.fromiter((s for _, s in ranking), dtype=np.float64, count=len(ranking)))

    def as_list(self) -> Ranking:
        return list(zip(self.items.tolist(), self.scores.tolist(), strict=True))

    def head(self, depth: int) -> Ranked:
        return Ranked(self.items[:depth], self.scores[:depth])

    def __len__(self) -> int:
        return int(self.items.size)


def reciprocal_rank_fusion(rankings: Sequence[Ranking], k: int = 60) -> Ranking:
    """RRF (Cormack, Clarke and Buettcher 2009): score(d) = sum over rankings of 1 / (k + rank(d)),
    ranks 1-based, k=60 as in the paper and Pyserini. Ties keep the smaller item id first."""
    return fuse(rankings, "rrf", rrf_k=k)


def min_max_fusion(rankings: Sequence[Ranking], weights: Sequence[float] | None = None) -> Ranking:
    """Each ranking's scores scaled to [0, 1] (min-max over its candidates), then a weighted sum;
    an item missing from a ranking contributes 0 there. A ranking whose scores are all equal maps to 1."""
    return fuse(rankings, "minmax", weights=weights)


def fuse(rankings: Sequence[Ranking], method: str, rrf_k: int = 60, weights: Sequence[float] | None = None) -> Ranking:
    return fuse_ranked([Ranked.of(r) for r in rankings], method, rrf_k, weights).as_list()


def fuse_ranked(
    rankings: Sequence[Ranked],
    method: str,
    rrf_k: int = 60,
    weights: Sequence[float] | None = None,
    universe: int | None = None,
    depth: int | None = None,
) -> Ranked:
    """`fuse` on arrays: reciprocal_rank_fusion's or min_max_fusion's scores, best first, ties by smaller
    item. `universe`: every item is below it (a benchmark's documents), so the scores add up in one
    array rather than through a sort; `depth`: only the best that many are ordered and returned."""
    if method == "rrf":
        parts = [(r.items, 1.0 / (rrf_k + np.arange(1, len(r) + 1))) for r in rankings if len(r)]
    elif method == "minmax":
        parts = [(r.items, weight * _min_max(r.scores)) for weight, r in
                 zip(weights or [1.0] * len(rankings), rankings, strict=True) if len(r)]  # fmt: skip
    else:
        raise ValueError(f"unknown fusion {method!r}; use one of {', '.join(FUSIONS)}")
    items, sums = _summed(parts, universe)
    return _best_first(items, sums, depth)


def _min_max(scores: np.ndarray) -> np.ndarray:
    scores = scores.astype(np.float64)
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else np.ones_like(scores)


def _summed(parts: Sequence[tuple[np.ndarray, np.ndarray]], universe: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Each item's values added up from 0.0 in the order the parts give them, as a dict of floats would:
    the same floats (np.add.at adds in index order; a ranking holds an item once, so within a universe
    one fancy-indexed addition a part does the same). The items ascending, and their sums."""
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    if universe is not None:
        sums, present = np.zeros(universe, dtype=np.float64), np.zeros(universe, dtype=bool)
        for items, values in parts:
            sums[items] += values
            present[items] = True
        found = np.flatnonzero(present)
        return found, sums[found]
    items, inverse = np.unique(np.concatenate([i for i, _ in parts]), return_inverse=True)
    sums = np.zeros(items.size, dtype=np.float64)
    np.add.at(sums, inverse, np.concatenate([v for _, v in parts]))
    return items, sums


def _best_first(items: np.ndarray, sums: np.ndarray, depth: int | None) -> Ranked:
    if depth is not None and items.size > depth:
        # Every item tied with the depth-th best stays until the sort, so the cut is by smaller item too.
        cut = np.partition(sums, items.size - depth)[items.size - depth]
        kept = sums >= cut
        items, sums = items[kept], sums[kept]
    order = np.lexsort((items, -sums))[:depth]
    return Ranked(items[order], sums[order])


__all__ = ["FUSIONS", "Ranked", "best_chunk_per_document", "fuse", "fuse_ranked", "rank_chunks", "top_scores"]

FUSIONS = ("rrf", "minmax")


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
