"""BM25 (rank-bm25's BM25Okapi) over chunk tokens. Tokens are persisted, not pickles: rank-bm25 has
no save/load, and rebuilding its statistics from tokens takes milliseconds at this size."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi


class BM25Index:
    def __init__(self, chunk_tokens: Sequence[Sequence[str]]) -> None:
        self._bm25 = BM25Okapi([list(t) for t in chunk_tokens])
        self.vocabulary = frozenset(t for tokens in chunk_tokens for t in tokens)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """One raw BM25 score per chunk (0 where no query term occurs)."""
        return np.asarray(self._bm25.get_scores(list(query_tokens)), dtype=np.float32)
