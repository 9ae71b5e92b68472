"""The key the index's embeddings are kept under: a new model, or new code running it, embeds again."""

from __future__ import annotations

import hashlib
from importlib import metadata

from followup.core.defaults import MODEL_NAME, MODEL_PACKAGE


def model_key() -> str:
    """What the vectors depend on: the weights' package, the code that exports them (torch,
    sentence-transformers) and the code that runs them (onnxruntime, tokenizers)."""
    packages = (MODEL_PACKAGE, "sentence-transformers", "torch", "onnxruntime", "tokenizers")
    parts = [MODEL_NAME, *(metadata.version(p) for p in packages)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
