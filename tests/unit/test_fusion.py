from __future__ import annotations

import pytest

from followup.retrieve.hybrid import min_max_fusion, reciprocal_rank_fusion


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
