"""Embeddings of a benchmark corpus, cached on disk by model and content, so a re-run does not re-embed."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from followup.core.defaults import MODEL_NAME, MODEL_PACKAGE
from followup.core.progress import ProgressLine

EncodeFn = Callable[[Sequence[str], Callable[[int, int], None]], np.ndarray]


def cache_key(texts: Sequence[str]) -> str:
    digest = hashlib.sha256(f"{MODEL_NAME}\0{metadata.version(MODEL_PACKAGE)}\0".encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode()).digest())
    return digest.hexdigest()


def cached_embeddings(texts: Sequence[str], encode: EncodeFn, cache_dir: Path, label: str) -> np.ndarray:
    path = cache_dir / f"{label}-{cache_key(texts)[:20]}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        if cached.shape[0] == len(texts):
            return cached
    vectors = encode(texts, ProgressLine(f"embedding {label}"))
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".npy.tmp")
    with os.fdopen(handle, "wb") as f:
        np.save(f, vectors)
    os.replace(temporary, path)  # a killed run never leaves a truncated cache file under the real name
    return vectors
