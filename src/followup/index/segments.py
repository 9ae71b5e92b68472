"""Chunk embeddings in immutable segments, shared by builds through hard links.

A segment holds the embeddings of chunk texts one build embedded, PART_CHUNKS of them at most
(embed/chunk_embeddings.py: a build embeds its new chunks a part at a time and writes each part as a
segment before embedding the next), or a compaction's copy of older segments' live rows, as `.npy`
arrays read memory-mapped: a question reads the rows of its top chunks only. The next build links the
segments it still uses into its own directory instead of copying them, so a one-article change writes
the new article's rows and nothing else (the MedQuAD library's token vectors alone are 1.9 GB). Once
more than half the rows a build links are no longer used, the live rows are copied into one fresh
segment and the old ones are dropped with the builds that linked them.

Each row is keyed by sha256 of the embedded text and its sentence spans (ChunkText.key).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from followup.core.storage import concatenated, offsets
from followup.core.types import Chunk
from followup.embed.token_vectors import PACKED_ARRAYS, ChunkEmbedding, PackedTokens, dequantise, passage_rows
from followup.index.digests import BlockCheck
from followup.index.layout import mapped_array

ARRAYS = (
    "keys",  # (rows, 32) uint8
    "vectors",  # (rows, dimension) float32
    "sentence-rows",  # (rows + 1,) int64: row i's sentences are sentences[sentence_rows[i] : sentence_rows[i + 1]]
    "sentences",  # (sentences, dimension) float32
    *PACKED_ARRAYS,  # token-rows, token-values (int8), token-scales: the rows' token vectors (PackedTokens)
    "token-spans",  # (tokens, 2) int32, relative to the embedded text
)
# Read a row's range at a time, and checked block by block as read (index/digests.py) where the reader
# asks: most of a library's index bytes (the MedQuAD library: 2.4 of 2.8 GB), of which a question reads MBs.
READ_BY_ROWS = ("sentences", "token-values", "token-scales", "token-spans")
PREFIX = "segment-"
GARBAGE_SHARE = 0.5  # past this share of unused rows in the linked segments, compact


def file_name(segment: str, array: str) -> str:
    return f"{segment}.{array}.npy"


def segment_files(segment: str) -> list[str]:
    return [file_name(segment, a) for a in ARRAYS]


def read_by_rows(file: str) -> bool:
    """Whether a build's file is a segment's array read a row's range at a time."""
    return file.startswith(PREFIX) and file.endswith(tuple(f".{a}.npy" for a in READ_BY_ROWS))


class RowCheck:
    """The block check of an array's file, by rows: the .npy header is checked at once, a row's bytes when
    first read."""

    def __init__(self, array: np.ndarray, check: BlockCheck) -> None:
        self._check = check
        self._start = check.path.stat().st_size - array.nbytes  # the data ends the file, after the header
        self._row_bytes = array.nbytes // len(array) if len(array) else 0
        check.span(0, self._start)

    def rows(self, rows: slice) -> None:
        self._check.span(self._start + rows.start * self._row_bytes, self._start + rows.stop * self._row_bytes)


def _write(
    directory: Path,
    name: str,
    keys: np.ndarray,
    vectors: Sequence[np.ndarray],
    sentences: Sequence[np.ndarray],
    tokens: Sequence[tuple[np.ndarray, np.ndarray]],
    spans: Sequence[np.ndarray],
    dimension: int,
) -> None:
    """A segment's files from its rows' parts: vectors (1, dimension) each, sentence vectors, token vectors
    (int8 values and scales) and their spans."""
    arrays = {
        "keys": keys,
        "vectors": concatenated(vectors, (0, dimension), np.float32),
        "sentence-rows": offsets(len(s) for s in sentences),
        "sentences": concatenated(sentences, (0, dimension), np.float32),
        **PackedTokens.packed(tokens, dimension).by_name(),
        "token-spans": concatenated(spans, (0, 2), np.int32),
    }
    for array in ARRAYS:
        np.save(directory / file_name(name, array), arrays[array])


def write_segment(directory: Path, name: str, keys: Sequence[bytes], embeddings: Sequence[ChunkEmbedding]) -> None:
    _write(
        directory,
        name,
        np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 32),
        [e.vector[None] for e in embeddings],
        [e.sentences for e in embeddings],
        [(e.tokens.values, e.tokens.scales) for e in embeddings],
        [e.tokens.spans for e in embeddings],
        len(embeddings[0].vector) if embeddings else 0,
    )


class Segment:
    """A segment's arrays, memory-mapped; those with a check in `checks` (by file name) are checked as read."""

    def __init__(self, directory: Path, name: str, checks: Mapping[str, BlockCheck] | None = None) -> None:
        self.name = name
        loaded = {a: mapped_array(directory / file_name(name, a)) for a in ARRAYS}
        checks = checks or {}
        self._checks = {
            a: RowCheck(loaded[a], checks[file_name(name, a)]) for a in READ_BY_ROWS if file_name(name, a) in checks
        }
        self.keys = loaded["keys"]
        self.vectors = loaded["vectors"]
        self._sentence_rows = np.asarray(loaded["sentence-rows"])
        self._sentences = loaded["sentences"]
        self._tokens = PackedTokens.named(loaded)
        self._token_spans = loaded["token-spans"]
        rows = len(self.keys)
        consistent = (
            len(self.vectors) == rows
            and len(self._sentence_rows) == len(self._tokens.rows) == rows + 1
            and int(self._sentence_rows[-1]) == len(self._sentences)
            and self._tokens.agrees()
            and len(self._token_spans) == len(self._tokens.values)
        )
        if not consistent:
            raise ValueError(f"segment {name}: its arrays disagree on the number of rows")

    def __len__(self) -> int:
        return len(self.keys)

    def token_count(self, row: int) -> int:
        rows = self._tokens.of(row)
        return int(rows.stop - rows.start)

    def token_counts(self) -> np.ndarray:
        """Each row's number of token vectors."""
        return self._tokens.counts()

    def sentences(self, row: int) -> np.ndarray:
        rows = slice(int(self._sentence_rows[row]), int(self._sentence_rows[row + 1]))
        self._checked(rows, "sentences")
        return np.asarray(self._sentences[rows])

    def tokens(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row's token values (int8), scales and spans (in the embedded text)."""
        rows = self._tokens.of(row)
        self._checked(rows, "token-values", "token-scales", "token-spans")
        values, scales = self._tokens.text(row)
        return values, scales, self._token_spans[rows]

    def _checked(self, rows: slice, *arrays: str) -> None:
        for array in arrays:
            if array in self._checks:
                self._checks[array].rows(rows)


def write_compacted(directory: Path, name: str, rows: Sequence[tuple[Segment, int]]) -> None:
    """A new segment of the given rows of older ones, copied as stored (no re-embedding, no re-quantising)."""
    tokens = [segment.tokens(row) for segment, row in rows]
    _write(
        directory,
        name,
        concatenated([np.asarray(segment.keys[row : row + 1]) for segment, row in rows], (0, 32), np.uint8),
        [np.asarray(segment.vectors[row : row + 1]) for segment, row in rows],
        [segment.sentences(row) for segment, row in rows],
        [(np.asarray(values), np.asarray(scales)) for values, scales, _ in tokens],
        [np.asarray(spans) for _, _, spans in tokens],
        rows[0][0].vectors.shape[1] if rows else 0,
    )


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link: builds share a segment's bytes; a copy only where links are not possible."""
    try:
        os.link(source, target)
    except OSError:
        import shutil

        shutil.copyfile(source, target)


def next_segment_name(existing: Iterable[str]) -> str:
    numbers = [int(n[len(PREFIX) :]) for n in existing if n.startswith(PREFIX) and n[len(PREFIX) :].isdigit()]
    return f"{PREFIX}{max(numbers, default=0) + 1:06d}"


CHUNK_EMBEDDINGS_FILE = "chunk-embeddings.npy"  # (chunks, 2) int32: each chunk's segment (by position) and row


class ChunkEmbeddings:
    """A build's view of its segments: each chunk's sentence vectors and token vectors by chunk id."""

    def __init__(
        self, directory: Path, segment_names: Sequence[str], checks: Mapping[str, BlockCheck] | None = None
    ) -> None:
        self.segments = [Segment(directory, name, checks) for name in segment_names]
        self.refs = mapped_array(directory / CHUNK_EMBEDDINGS_FILE)
        sizes = np.array([len(s) for s in self.segments], dtype=np.int64)
        if len(self.refs) and (
            self.refs[:, 0].max() >= len(self.segments) or (self.refs[:, 1] >= sizes[self.refs[:, 0]]).any()
        ):
            raise ValueError("chunk embeddings point past their segments")

    def __len__(self) -> int:
        return len(self.refs)

    def _ref(self, chunk_id: int) -> tuple[Segment, int]:
        segment, row = self.refs[chunk_id].tolist()
        return self.segments[segment], row

    def key(self, chunk_id: int) -> bytes:
        segment, row = self._ref(chunk_id)
        return bytes(segment.keys[row])

    def vector(self, chunk_id: int) -> np.ndarray:
        segment, row = self._ref(chunk_id)
        return np.asarray(segment.vectors[row])

    def sentences(self, chunk_id: int) -> np.ndarray:
        segment, row = self._ref(chunk_id)
        return segment.sentences(row)

    def passage_tokens(self, chunk: Chunk, start: int, end: int) -> np.ndarray:
        """The float32 token vectors a passage [start, end) of the chunk's document is scored against:
        the passage's tokens and the chunk's context's, from the chunk's own pass."""
        segment, row = self._ref(chunk.id)
        values, scales, spans = segment.tokens(row)
        head = len(chunk.context) + 1  # "context\n" before the chunk's own text
        spans = np.asarray(spans)
        in_text = spans[:, 0] >= head
        moved = np.where(in_text[:, None], spans - head + chunk.start, -1)
        rows = passage_rows(moved, start, end)
        return dequantise(np.asarray(values[rows]), np.asarray(scales[rows]))
