"""Embeddings of a benchmark corpus, cached on disk by model and content, so a re-run does not re-embed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from followup.core.progress import ProgressLine
from followup.core.storage import atomic_path
from followup.embed.encoder import embedding_key

EncodeFn = Callable[[Sequence[str], Callable[[int, int], None]], np.ndarray]
LAYOUT = "pooled-float32-v1"  # one .npy of the texts' pooled vectors, in order


def cached_embeddings(texts: Sequence[str], encode: EncodeFn, cache_dir: Path, label: str) -> np.ndarray:
    path = cache_dir / f"{label}-{embedding_key(LAYOUT, texts)}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        if cached.shape[0] == len(texts):
            return cached
    vectors = encode(texts, ProgressLine(f"embedding {label}"))
    with atomic_path(path) as temporary, temporary.open("wb") as f:
        np.save(f, vectors)
    return vectors
