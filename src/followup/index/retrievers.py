"""What an index backend does: at build time, write a build's chunks where they are searched
(`SearchWriter`); for a question, each retriever's best chunks, in the whole library or in a scope of
articles (`Retriever`). The pipeline above it (query building, fusion, the answer score, ordering) is
the same whatever runs the searches; records and per-chunk embeddings stay in the build's files.

The default backend (`EmbeddedRetriever`): BM25 postings (index/bm25.py) and a faiss index
(index/dense.py), memory-mapped or loaded into this process. Nothing to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex

Ranking = list[tuple[int, float]]  # (chunk id, score), best first


@dataclass(frozen=True)
class SearchScope:
    """The articles a question is searched in, and their chunk ids (ascending): the embedded backend
    scores the chunks, a server filters on the articles, and on the chunk ids too when `by_chunk` (an
    evidence filter keeps only some chunks of each article)."""

    articles: tuple[str, ...]
    chunks: np.ndarray
    by_chunk: bool = False


class Retriever(Protocol):
    def lexical(self, tokens: Sequence[str], k: int, scope: SearchScope | None = None) -> Ranking:
        """The k chunks of highest BM25 score (rank-bm25's BM25Okapi), positive scores only."""
        ...

    def semantic(self, vector: np.ndarray, k: int, scope: SearchScope | None = None) -> Ranking:
        """The k chunks of highest cosine to the (normalised) query vector."""
        ...


@dataclass(frozen=True)
class WrittenSearches:
    """Where a build's searches were written: its manifest's `search_backend` and `dense_index`."""

    backend: dict[str, Any]
    dense_index: dict[str, Any]


class SearchWriter(Protocol):
    def write(
        self, work: Path, previous: Any, keys: list[bytes], bm25: Any, vectors: np.ndarray, article_ids: Sequence[str]
    ) -> WrittenSearches:
        """Write the build's chunks (chunk i: BM25 document i, vector i, article i) for searching, into the
        build folder `work` or a server; `previous` (incremental.Previous) and `keys` let it reuse the
        build before."""
        ...

    def published(self, index_dir: Path, written: WrittenSearches) -> None:
        """After the build became current: switch what points at the current build, drop what no kept
        build needs."""
        ...


def top_scores(scores: np.ndarray, k: int, positive_only: bool = False) -> Ranking:
    """The k highest entries of a score array as (index, score), best first; ties by smaller index."""
    candidates = np.flatnonzero(scores > 0) if positive_only else np.arange(scores.size)
    if candidates.size > k:
        # Every candidate tied with the k-th best stays until the sort, so the cut is by smaller index
        # too (argpartition alone picks among ties arbitrarily, and another engine could not agree).
        cut = np.partition(scores[candidates], candidates.size - k)[candidates.size - k]
        candidates = candidates[scores[candidates] >= cut]
    order = sorted(candidates.tolist(), key=lambda i: (-float(scores[i]), i))[:k]
    return [(i, float(scores[i])) for i in order]


@dataclass(frozen=True)
class EmbeddedRetriever:
    bm25: BM25Index
    dense: DenseIndex

    def lexical(self, tokens: Sequence[str], k: int, scope: SearchScope | None = None) -> Ranking:
        # What top_scores(bm25.scores(tokens), k, positive_only=True) ranks, without scoring every posting.
        return self.bm25.top(tokens, k, None if scope is None else np.asarray(scope.chunks, dtype=np.int64))

    def semantic(self, vector: np.ndarray, k: int, scope: SearchScope | None = None) -> Ranking:
        return self.dense.search(vector, k, None if scope is None else scope.chunks)
