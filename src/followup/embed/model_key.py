"""The keys embeddings are kept under: a new model, or new code running it, embeds again. The index's
builds and ONNX exports are kept under `model_key`; cached embeddings (the benchmark caches) under
`embedding_key`, which adds the cache's layout and the texts it holds, each found by `text_digest`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import metadata

from followup.core.defaults import MODEL_NAME, MODEL_PACKAGE


def model_key() -> str:
    """What the vectors depend on: the weights' package, the code that exports them (torch,
    sentence-transformers) and the code that runs them (onnxruntime, tokenizers)."""
    packages = (MODEL_PACKAGE, "sentence-transformers", "torch", "onnxruntime", "tokenizers")
    parts = [MODEL_NAME, *(metadata.version(p) for p in packages)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def text_digest(text: str) -> bytes:
    """sha256 of an embedded text: what its cached embedding is found by."""
    return hashlib.sha256(text.encode()).digest()


def embedding_key(layout: str, texts: Iterable[str] = ()) -> str:
    """The key a cache of embeddings is named by: the model (model_key), the cache's `layout` (what it
    stores and how), and the texts, in order, of a cache that holds one corpus's vectors as a whole."""
    digest = hashlib.sha256(f"{model_key()}\0{layout}\0".encode())
    for text in texts:
        digest.update(text_digest(text))
    return digest.hexdigest()[:20]
