"""Token vectors of all-MiniLM-L6-v2 as the index keeps them: each token's vector and its span in the
text, int8 with a scale per token, and the rows a passage is scored against. What a chunk's stored
embedding is (`ChunkEmbedding`: its dense vector, its sentences' vectors, its token vectors), and how
many texts' int8 token vectors are stored end to end (`PackedTokens`: the one layout of a build's
segments and of the benchmark token cache). The answer score over them is answer/candidates.py. Pure
functions over arrays, tested without the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from followup.core.storage import concatenated, offsets

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


PACKED_ARRAYS = ("token-rows", "token-values", "token-scales")  # PackedTokens's arrays, by the names they are saved as


@dataclass(frozen=True)
class PackedTokens:
    """Many texts' int8 token vectors end to end, as they are stored: text i's tokens are rows
    rows[i] to rows[i + 1] of `values` and `scales`. Written and read here only: a build's segments
    save the three arrays as .npy files (memory-mapped when read), the benchmark token cache in one
    .npz, under the names of PACKED_ARRAYS."""

    rows: np.ndarray  # (texts + 1,) int64, from 0
    values: np.ndarray  # (tokens, dimension) int8
    scales: np.ndarray  # (tokens,) float32

    @classmethod
    def packed(cls, texts: Sequence[tuple[np.ndarray, np.ndarray]], dimension: int) -> PackedTokens:
        """Each text's int8 values and scales (quantise's pair), end to end."""
        return cls(
            offsets(len(scales) for _, scales in texts),
            concatenated([values for values, _ in texts], (0, dimension), np.int8),
            concatenated([scales for _, scales in texts], (0,), np.float32),
        )

    @classmethod
    def named(cls, arrays: Mapping[str, np.ndarray]) -> PackedTokens:
        """From arrays saved under PACKED_ARRAYS's names (check `agrees` before trusting them)."""
        rows, values, scales = (arrays[name] for name in PACKED_ARRAYS)
        return cls(np.asarray(rows), values, scales)

    def by_name(self) -> dict[str, np.ndarray]:
        """The arrays under the names they are saved as."""
        return dict(zip(PACKED_ARRAYS, (self.rows, self.values, self.scales), strict=True))

    def agrees(self) -> bool:
        """Whether the rows end where the values and the scales do."""
        rows = self.rows
        return rows.ndim == 1 and len(rows) > 0 and int(rows[-1]) == len(self.values) == len(self.scales)

    def __len__(self) -> int:
        return len(self.rows) - 1

    def counts(self) -> np.ndarray:
        """Each text's number of token vectors."""
        return np.diff(self.rows)

    def of(self, i: int) -> slice:
        """Text i's rows."""
        return slice(int(self.rows[i]), int(self.rows[i + 1]))

    def text(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Text i's int8 token vectors and their scales (dequantise turns them back)."""
        rows = self.of(i)
        return self.values[rows], self.scales[rows]
