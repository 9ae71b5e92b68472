"""What the stages above ask of an encoder, whichever runs the model (onnxruntime or torch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from followup.embed.token_vectors import TokenEmbedding


class QueryEncoder(Protocol):
    """Embeds a question as `followup ask` does: its pooled vector (the dense search), and from one pass
    the pooled and token vectors of texts (the answer score, the benchmark's rerank). Every
    embed/passes.ModelPasses is one: OnnxQueryEncoder for questions, TorchPassEncoder."""

    dimension: int

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenEmbedding]]: ...
