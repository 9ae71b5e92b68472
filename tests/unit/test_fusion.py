from __future__ import annotations

import numpy as np
import pytest

from followup.retrieve.hybrid import Ranked, fuse_ranked, min_max_fusion, reciprocal_rank_fusion


def test_rrf_by_hand() -> None:
    bm25 = [(1, 12.0), (2, 7.5), (3, 1.0)]
    dense = [(3, 0.9), (1, 0.8)]
    fused = dict(reciprocal_rank_fusion([bm25, dense], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert [item for item, _ in reciprocal_rank_fusion([bm25, dense])] == [1, 3, 2]


def test_rrf_ties_keep_smaller_id_first() -> None:
    assert [i for i, _ in reciprocal_rank_fusion([[(5, 1.0)], [(4, 1.0)]])] == [4, 5]


def test_min_max_fusion_by_hand() -> None:
    bm25 = [(1, 10.0), (2, 5.0), (3, 0.0)]
    dense = [(2, 0.9), (3, 0.5)]
    fused = dict(min_max_fusion([bm25, dense]))
    assert fused == pytest.approx({1: 1.0, 2: 0.5 + 1.0, 3: 0.0 + 0.0})


def test_min_max_fusion_weights_and_constant_scores() -> None:
    fused = dict(min_max_fusion([[(1, 3.0), (2, 3.0)], [(1, 0.2)]], weights=[0.5, 2.0]))
    assert fused == pytest.approx({1: 0.5 + 2.0, 2: 0.5})


def dict_rrf(rankings: list[list[tuple[int, float]]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion summed in a dict of Python floats: the reference the numpy one must equal."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (item, _score) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def dict_min_max(rankings: list[list[tuple[int, float]]], weights: list[float]) -> list[tuple[int, float]]:
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


def test_fusions_equal_sums_in_a_dict_of_floats_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        rankings = []
        for _ in range(int(rng.integers(0, 4))):
            size = int(rng.integers(0, 60))
            items = rng.choice(80, size=size, replace=False).tolist()
            # Few distinct scores: ties within a ranking, equal fused sums across items, constant rankings.
            scores = sorted(rng.choice([0.0, 0.25, 1.0, 7.5, float(rng.random())], size=size).tolist(), reverse=True)
            rankings.append(list(zip(items, scores, strict=True)))
        weights = [float(w) for w in rng.choice([0.5, 1.0, 2.0, 0.3], size=len(rankings))]
        assert min_max_fusion(rankings, weights) == dict_min_max(rankings, weights)
        assert min_max_fusion(rankings) == dict_min_max(rankings, [1.0] * len(rankings))
        assert reciprocal_rank_fusion(rankings, k=60) == dict_rrf(rankings, 60)
        assert reciprocal_rank_fusion(rankings, k=1) == dict_rrf(rankings, 1)
        # On arrays, summed within a universe of items and cut at a depth: the same items and floats.
        as_arrays = [Ranked.of(r) for r in rankings]
        for depth in (1, 5, 200):
            for method, expected in (("minmax", dict_min_max(rankings, weights)), ("rrf", dict_rrf(rankings, 60))):
                fused = fuse_ranked(as_arrays, method, 60, weights, universe=80, depth=depth)
                assert fused.as_list() == expected[:depth], (method, depth)
