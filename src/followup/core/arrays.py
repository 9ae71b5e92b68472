"""Ragged data laid end to end in one flat array, as the index stores records, postings and token
vectors: part i is flat[offsets[i] : offsets[i + 1]]."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def offsets(lengths: Iterable[int] | np.ndarray) -> np.ndarray:
    """Where each part starts, and after it where the last one ends: (parts + 1,) int64, from 0."""
    counts = lengths if isinstance(lengths, np.ndarray) else np.fromiter(lengths, dtype=np.int64)
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, dtype=np.int64, out=starts[1:])  # summed in int64: int32 lengths may add up past 2**31
    return starts


def concatenated(parts: Sequence[np.ndarray], empty: tuple[int, ...], dtype: type) -> np.ndarray:
    """The parts end to end as `dtype`; with no parts, an array of shape `empty`."""
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(empty, dtype)
