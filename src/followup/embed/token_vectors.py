"""Token vectors of all-MiniLM-L6-v2 as the index keeps them: each token's vector and its span in the
text, int8 with a scale per token, and the rows a passage is scored against. What a chunk's stored
embedding is (`ChunkEmbedding`: its dense vector, its sentences' vectors, its token vectors). The
answer score over them is answer/maxsim.py. Pure functions over arrays, tested without the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Token vectors are stored as int8 with one scale per token: minimum cosine to fp32 0.9994 on the
# seed corpus, a quarter of the bytes.
INT8_MAX = 127


@dataclass(frozen=True)
class TokenEmbedding:
    """One text's token vectors (L2-normalised rows, special tokens left out) and each token's
    character span [start, end) in the text."""

    vectors: np.ndarray  # (tokens, dimension) float32
    spans: np.ndarray  # (tokens, 2) int32


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and their float32 scales: vectors ~= int8 * scale."""
    scales = np.abs(vectors).max(axis=1) / INT8_MAX if len(vectors) else np.zeros(0, np.float32)
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    return np.round(vectors / scales[:, None]).astype(np.int8), scales


def dequantise(values: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """float32 rows, re-normalised (quantisation moves their norms by ~1e-3)."""
    vectors = values.astype(np.float32) * scales[:, None]
    return np.asarray(vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None))


def passage_rows(spans: np.ndarray, start: int, end: int) -> np.ndarray:
    """Rows of a chunk's tokens that a passage [start, end) is scored against: the context's tokens
    (spans of -1) and the tokens inside the passage."""
    context = spans[:, 0] < 0
    inside = (spans[:, 0] >= start) & (spans[:, 1] <= end)
    return np.flatnonzero(context | inside)


@dataclass(frozen=True)
class QuantisedTokens:
    """A text's token vectors as stored: int8 rows with a scale each (quantise), and
    each token's span in the text. Quantised as soon as a batch is embedded: the MedQuAD library's
    token vectors are 7.4 GB in float32, 1.9 GB so."""

    values: np.ndarray  # (tokens, dimension) int8
    scales: np.ndarray  # (tokens,) float32
    spans: np.ndarray  # (tokens, 2) int32

    @classmethod
    def of(cls, tokens: TokenEmbedding) -> QuantisedTokens:
        values, scales = quantise(tokens.vectors)
        return cls(values, scales, tokens.spans.astype(np.int32))


@dataclass(frozen=True)
class ChunkEmbedding:
    vector: np.ndarray  # (dimension,) float32, L2-normalised: the chunk's dense vector
    sentences: np.ndarray  # (sentences, dimension) float32, L2-normalised
    tokens: QuantisedTokens  # spans relative to the embedded text
