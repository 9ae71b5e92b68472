"""What an index backend does: at build time, write a build's chunks where they are searched
(`SearchWriter`); for a question, each retriever's best chunks, in the whole library or in a scope of
articles (`Retriever`). The pipeline above it (query building, fusion, the answer score, ordering) is
the same whatever runs the searches; records and per-chunk embeddings stay in the build's files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

Ranking = list[tuple[int, float]]  # (chunk id, score), best first


@dataclass(frozen=True)
class SearchScope:
    """The articles a question is searched in, and their chunk ids (ascending): the embedded backend
    scores the chunks, a server filters on the articles."""

    articles: tuple[str, ...]
    chunks: np.ndarray


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
