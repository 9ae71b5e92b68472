"""Token vectors of every chunk: kept between builds, written into each build, read back memory-mapped.

A chunk's tokens come from one forward pass over its indexed text ("context\\ntext"); they are stored
as int8 with a scale per token (late_interaction.quantise) and each token's span in the chunk's
document, or (-1, -1) for a token of the context. A question reads only its top chunks' rows.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from followup.late_interaction import TokenEmbedding, dequantise, passage_rows, quantise
from followup.types import Chunk

VALUES_FILE = "chunk-token-vectors.npy"  # (tokens, dimension) int8
SCALES_FILE = "chunk-token-scales.npy"  # (tokens,) float32
SPANS_FILE = "chunk-token-spans.npy"  # (tokens, 2) int32, document offsets; (-1, -1) for context
ROWS_FILE = "chunk-token-rows.npy"  # (chunks + 1,) int64: chunk i's tokens are rows[i]..rows[i + 1]
FILES = (VALUES_FILE, SCALES_FILE, SPANS_FILE, ROWS_FILE)


@dataclass(frozen=True)
class StoredTokens:
    values: np.ndarray  # int8
    scales: np.ndarray
    spans: np.ndarray  # relative to the embedded text


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class TokenVectorStore:
    """Token vectors by sha256 of the embedded text, in one file per model (`<key>-tokens.npz`) beside
    the text embeddings; a damaged file is ignored (everything is embedded again), never trusted."""

    def __init__(self, directory: Path, key: str) -> None:
        self.path = directory / f"{key}-tokens.npz"
        self._stored: dict[bytes, StoredTokens] = {}
        try:
            with np.load(self.path) as f:
                keys, counts, values, scales, spans = f["keys"], f["counts"], f["values"], f["scales"], f["spans"]
            bounds = np.concatenate([[0], np.cumsum(counts)])
            if len(keys) == len(counts) and bounds[-1] == len(values) == len(scales) == len(spans):
                for i, key_row in enumerate(keys):
                    rows = slice(bounds[i], bounds[i + 1])
                    self._stored[key_row.tobytes()] = StoredTokens(values[rows], scales[rows], spans[rows])
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError) as e:
            print(f"followup: ignoring the token store {self.path} ({e}); embedding every chunk", file=sys.stderr)

    def missing(self, texts: Sequence[str]) -> list[str]:
        """Texts without stored tokens, each once, in first-seen order."""
        return list(dict.fromkeys(t for t in texts if _digest(t) not in self._stored))

    def add(self, texts: Sequence[str], embeddings: Sequence[TokenEmbedding]) -> None:
        for text, embedding in zip(texts, embeddings, strict=True):
            values, scales = quantise(embedding.vectors)
            self._stored[_digest(text)] = StoredTokens(values, scales, embedding.spans.astype(np.int32))

    def get(self, text: str) -> StoredTokens:
        return self._stored[_digest(text)]

    def save(self, keep: Sequence[str]) -> None:
        """Write the tokens of `keep` (the texts of the build just made), atomically."""
        digests = list(dict.fromkeys(_digest(t) for t in keep))
        kept = [self._stored[d] for d in digests]
        dimension = kept[0].values.shape[1] if kept else 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as f:
            np.savez(
                f,
                keys=np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32),
                counts=np.array([len(s.values) for s in kept], dtype=np.int64),
                values=np.concatenate([s.values for s in kept]) if kept else np.zeros((0, dimension), np.int8),
                scales=np.concatenate([s.scales for s in kept]) if kept else np.zeros(0, np.float32),
                spans=np.concatenate([s.spans for s in kept]) if kept else np.zeros((0, 2), np.int32),
            )
        os.replace(temporary, self.path)
        self._stored = dict(zip(digests, kept, strict=True))


def write_chunk_tokens(
    directory: Path, chunks: Sequence[Chunk], indexed_texts: Sequence[str], store: TokenVectorStore
) -> int:
    """The build's token files, spans moved from the indexed text to the chunk's document; returns the
    number of tokens written."""
    values, scales, spans, counts = [], [], [], []
    for chunk, text in zip(chunks, indexed_texts, strict=True):
        stored = store.get(text)
        head = len(text) - (chunk.end - chunk.start)  # "context\n" before the chunk's own text
        in_text = stored.spans[:, 0] >= head
        moved = np.where(in_text[:, None], stored.spans - head + chunk.start, -1).astype(np.int32)
        values.append(stored.values)
        scales.append(stored.scales)
        spans.append(moved)
        counts.append(len(stored.values))
    np.save(directory / VALUES_FILE, np.concatenate(values) if values else np.zeros((0, 0), np.int8))
    np.save(directory / SCALES_FILE, np.concatenate(scales) if scales else np.zeros(0, np.float32))
    np.save(directory / SPANS_FILE, np.concatenate(spans) if spans else np.zeros((0, 2), np.int32))
    np.save(directory / ROWS_FILE, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    return int(sum(counts))


class ChunkTokens:
    """A build's token files, memory-mapped: a question touches the rows of its top chunks only."""

    def __init__(self, directory: Path) -> None:
        self._values = np.load(directory / VALUES_FILE, mmap_mode="r")
        self._scales = np.load(directory / SCALES_FILE, mmap_mode="r")
        self._spans = np.load(directory / SPANS_FILE, mmap_mode="r")
        self.rows = np.load(directory / ROWS_FILE)
        if not (len(self._values) == len(self._scales) == len(self._spans) == int(self.rows[-1])):
            raise ValueError("token files disagree on the number of tokens")

    @property
    def chunks(self) -> int:
        return len(self.rows) - 1

    def passage(self, chunk_id: int, start: int, end: int) -> np.ndarray:
        """The float32 token vectors a passage [start, end) of the chunk is scored against."""
        first, last = int(self.rows[chunk_id]), int(self.rows[chunk_id + 1])
        rows = first + passage_rows(np.asarray(self._spans[first:last]), start, end)
        return dequantise(np.asarray(self._values[rows]), np.asarray(self._scales[rows]))
