"""Embeddings kept between index builds, keyed by model and text, so a rebuild embeds only new text.

One file per model version in `index/embeddings/`, replaced atomically: the sha256 of each text and its
vector. A damaged store is ignored (everything is embedded again), never trusted.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from followup.config import MODEL_NAME, MODEL_PACKAGE


def model_key() -> str:
    """What the vectors depend on: the weights' package, and the code that runs them."""
    parts = [MODEL_NAME, metadata.version(MODEL_PACKAGE), metadata.version("sentence-transformers"),
             metadata.version("torch")]  # fmt: skip
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class TextEmbeddingStore:
    def __init__(self, directory: Path, key: str) -> None:
        self.path = directory / f"{key}.npz"
        self._vectors: dict[bytes, np.ndarray] = {}
        try:
            with np.load(self.path) as stored:
                keys, vectors = stored["keys"], stored["vectors"]
            if keys.shape[0] == vectors.shape[0]:
                self._vectors = {k.tobytes(): v for k, v in zip(keys, vectors, strict=True)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError) as e:
            print(f"followup: ignoring the embedding store in {directory} ({e}); embedding everything", file=sys.stderr)

    def __len__(self) -> int:
        return len(self._vectors)

    def missing(self, texts: Sequence[str]) -> list[str]:
        """Texts without a stored vector, each once, in first-seen order."""
        seen: set[bytes] = set()
        result = []
        for text in texts:
            digest = _digest(text)
            if digest not in self._vectors and digest not in seen:
                seen.add(digest)
                result.append(text)
        return result

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            self._vectors[_digest(text)] = np.asarray(vector, dtype=np.float32)

    def lookup(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vectors[_digest(t)] for t in texts]).astype(np.float32)

    def save(self, keep: Sequence[str]) -> None:
        """Write the vectors of `keep` (the texts of the build just made), atomically."""
        digests = list(dict.fromkeys(_digest(t) for t in keep))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Digests as rows of 32 bytes (a fixed-width bytes dtype would drop trailing zero bytes).
        keys = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)
        vectors = np.stack([self._vectors[d] for d in digests]) if digests else np.zeros((0, 0), np.float32)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as f:
            np.savez(f, keys=keys, vectors=vectors)
        os.replace(temporary, self.path)
        self._vectors = {d: self._vectors[d] for d in digests}
