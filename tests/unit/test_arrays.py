"""core/arrays.offsets: the one layout of ragged data end to end."""

from __future__ import annotations

import numpy as np

from followup.core.storage import offsets


def test_offsets_start_at_zero_and_end_at_the_total() -> None:
    found = offsets([3, 0, 2])
    assert found.dtype == np.int64 and found.tolist() == [0, 3, 3, 5]
    assert offsets(np.array([2, 2], dtype=np.int32)).tolist() == [0, 2, 4]
    assert offsets(len(t) for t in ["ab", "c"]).tolist() == [0, 2, 3]
    empty = offsets([])
    assert empty.dtype == np.int64 and empty.tolist() == [0]


def test_offsets_sum_in_int64() -> None:
    big = np.full(3, 2**30, dtype=np.int32)
    assert offsets(big)[-1] == 3 * 2**30
