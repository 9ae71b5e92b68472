"""Rank fusion, pure functions over ranked lists of (item, score), best first."""

from __future__ import annotations

from collections.abc import Sequence

from followup.index.backends.base import Ranking


def reciprocal_rank_fusion(rankings: Sequence[Ranking], k: int = 60) -> Ranking:
    """RRF (Cormack, Clarke and Buettcher 2009): score(d) = sum over rankings of 1 / (k + rank(d)),
    ranks 1-based, k=60 as in the paper and Pyserini. Ties keep the smaller item id first."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (item, _score) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def min_max_fusion(rankings: Sequence[Ranking], weights: Sequence[float] | None = None) -> Ranking:
    """Each ranking's scores scaled to [0, 1] (min-max over its candidates), then a weighted sum;
    an item missing from a ranking contributes 0 there. A ranking whose scores are all equal maps to 1."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for weight, ranking in zip(weights, rankings, strict=True):
        if not ranking:
            continue
        scores = [s for _, s in ranking]
        low, high = min(scores), max(scores)
        for item, score in ranking:
            scaled = (score - low) / (high - low) if high > low else 1.0
            fused[item] = fused.get(item, 0.0) + weight * scaled
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
