"""Dense retrieval over stored embeddings with faiss (the only module that imports faiss).

Exact search (IndexFlatIP over normalised vectors, so inner product is cosine) while it is fast enough,
HNSW beyond that. Flat search reads every vector for each query (1.5 kB per chunk): its cost grows with
the corpus, and bench/scale.py measures where it stops fitting a query's budget; HNSW's parameters were
chosen there for recall@10 >= 0.99 against exact search up to 1M chunks.

Scoping a question to one article never searches the whole library: the article's own vectors are
scored exactly, read in place from faiss's memory, so its cost follows the article's size, not the
library's. A scope of many articles (a quarter of the library or more) is cheaper scored in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

FLAT_LIMIT = 20_000  # chunks; above this the index is HNSW
HNSW_NEIGHBOURS = 32  # M: links per node; 32 keeps recall@10 >= 0.99 on these 384-d embeddings
HNSW_BUILD_DEPTH = 200  # efConstruction: at 80, recall@10 was 0.986 at 100k chunks; 200 gives 0.996
HNSW_SEARCH_DEPTH = 128  # efSearch, raised to k when a search asks for more
# Scoped search gathers the scope's vectors up to this share of the index; past it one pass over all of
# them is faster (50k chunks: 5k rows 2.8 ms gathered, 3.3 ms in one pass; 29k rows 17.7 vs 3.8 ms).
FULL_PASS_SHARE = 0.25


@dataclass(frozen=True)
class DenseIndexInfo:
    kind: str  # "flat" or "hnsw"
    vectors: int
    dimension: int


def build_faiss_index(vectors: np.ndarray, flat_limit: int = FLAT_LIMIT) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dimension = vectors.shape[1]
    index: faiss.Index
    if vectors.shape[0] <= flat_limit:
        index = faiss.IndexFlatIP(dimension)
    else:
        hnsw = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_BUILD_DEPTH
        index = hnsw
    index.add(vectors)  # faiss keeps its own copy; holding ours too would double the memory
    return index


class DenseIndex:
    def __init__(self, index: faiss.Index) -> None:
        self._index = index
        self._is_hnsw = isinstance(faiss.downcast_index(index), faiss.IndexHNSW)
        self._vectors = _stored_vectors(index, self._is_hnsw)

    @classmethod
    def build(cls, vectors: np.ndarray, flat_limit: int = FLAT_LIMIT) -> DenseIndex:
        return cls(build_faiss_index(vectors, flat_limit))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        return cls(faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @property
    def info(self) -> DenseIndexInfo:
        return DenseIndexInfo("hnsw" if self._is_hnsw else "flat", int(self._index.ntotal), self._index.d)

    @property
    def nbytes(self) -> int:
        """The index's size as saved: vectors, and the graph for HNSW."""
        return int(faiss.serialize_index(self._index).size)

    def all_vectors(self) -> np.ndarray:
        return self._vectors.copy()

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k best (row, cosine), best first; with `allowed`, among those rows only."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if allowed is not None:
            return self._search_rows(query[0], k, allowed)
        k = min(k, self._index.ntotal)
        if k <= 0:
            return []
        params = None
        if self._is_hnsw:
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # faiss's stubs lag
            params.efSearch = max(HNSW_SEARCH_DEPTH, k)
        scores, ids = self._index.search(query, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _search_rows(self, query: np.ndarray, k: int, rows: np.ndarray) -> list[tuple[int, float]]:
        k = min(k, rows.size)
        if k <= 0:
            return []
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size >= FULL_PASS_SHARE * self._vectors.shape[0]:
            scores = (self._vectors @ query)[rows]
        else:
            scores = self._vectors[rows] @ query
        best = np.argpartition(-scores, k - 1)[:k] if rows.size > k else np.arange(rows.size)
        best = best[np.lexsort((rows[best], -scores[best]))]  # ties by smaller row, as exact search does
        return [(int(rows[i]), float(scores[i])) for i in best]


def _stored_vectors(index: faiss.Index, is_hnsw: bool) -> np.ndarray:
    """The index's vectors as a read-only view of faiss's own memory: scoring a scope copies nothing.
    Valid while `index` lives; DenseIndex keeps both."""
    flat = faiss.downcast_index(faiss.downcast_index(index).storage if is_hnsw else index)  # type: ignore[attr-defined]
    if flat.ntotal == 0:
        return np.zeros((0, flat.d), dtype=np.float32)
    view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)  # type: ignore[attr-defined]
    view.flags.writeable = False
    return view
