"""What an index backend does for a question: each retriever's best chunks, in the whole library or in a
scope of articles. The pipeline above it (query building, fusion, the answer score, ordering) is the
same whatever runs the searches; records and per-chunk embeddings stay in the build's files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
