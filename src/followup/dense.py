"""Dense retrieval over stored embeddings with faiss (the only module that imports faiss)."""

from __future__ import annotations

import faiss
import numpy as np


class DenseIndex:
    """Exact cosine search (faiss IndexFlatIP over normalised vectors); scoping is an id filter."""

    def __init__(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index = faiss.IndexFlatIP(vectors.shape[1])
        self._index.add(vectors)  # faiss keeps its own copy; holding ours too would double the memory

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        k = min(k, self._index.ntotal if allowed is None else allowed.size)
        if k <= 0:
            return []
        params = selector = None
        if allowed is not None:
            # Keep `selector` referenced until the search returns: SWIG does not own it through params.
            selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
            params = faiss.SearchParameters()
            params.sel = selector
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        del selector
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
