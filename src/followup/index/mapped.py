"""Arrays of a build, memory-mapped read-only and handed out as plain ndarrays: a np.memmap's every
slice runs its __array_finalize__ (~2 us), which was most of decoding a chunk record."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def mapped_array(path: Path) -> np.ndarray:
    """An `.npy` file, mapped."""
    return np.asarray(np.load(path, mmap_mode="r"))


def mapped_bytes(path: Path) -> np.ndarray:
    """A file's bytes as uint8, mapped (an empty file cannot be mapped: an empty array then)."""
    return np.asarray(np.memmap(path, dtype=np.uint8, mode="r")) if path.stat().st_size else np.zeros(0, np.uint8)
