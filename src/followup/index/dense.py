"""Dense retrieval over stored embeddings with faiss (the only module that imports faiss).

Exact search (IndexFlatIP over normalised vectors, so inner product is cosine) while it is fast enough,
HNSW beyond that. Flat search reads every vector for each query (1.5 kB per chunk): its cost grows with
the corpus, and bench/scale.py measures where it stops fitting a query's budget; HNSW's parameters were
chosen there for recall@10 >= 0.99 against exact search up to 1M chunks.

Scoping a question to one article never searches the whole library: the article's own vectors are
scored exactly, read in place from faiss's memory, so its cost follows the article's size, not the
library's. A scope of many articles (a quarter of the library or more) is cheaper scored in one pass.

The index's rows are not the chunk ids: a build after a change adds the new chunks' vectors to the
previous graph (`extended`) and marks the rows of removed chunks unused (-1 in `row_chunks`), which
searches then skip with a faiss selector. Past REBUILD_SHARE unused rows the graph is built afresh.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

FLAT_LIMIT = 20_000  # chunks; above this the index is HNSW
HNSW_NEIGHBOURS = 32  # M: links per node; 32 keeps recall@10 >= 0.99 on these 384-d embeddings
HNSW_BUILD_DEPTH = 200  # efConstruction: at 80, recall@10 was 0.986 at 100k chunks; 200 gives 0.996
HNSW_SEARCH_DEPTH = 128  # efSearch, raised to k when a search asks for more
# Scoped search gathers the scope's vectors up to this share of the index; past it one pass over all of
# them is faster (50k chunks: 5k rows 2.8 ms gathered, 3.3 ms in one pass; 29k rows 17.7 vs 3.8 ms).
FULL_PASS_SHARE = 0.25
# Unused rows cost memory and slow a filtered graph search; a one-article change in a 5,401-article
# library leaves 0.02% of them, so rebuilding (tens of seconds at 50k chunks) is rare.
REBUILD_SHARE = 0.2


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
    def __init__(self, index: faiss.Index, row_chunks: np.ndarray | None = None) -> None:
        """`row_chunks`: the chunk id of each row, -1 for an unused one; None: row i is chunk i."""
        self._index = index
        self._is_hnsw = isinstance(faiss.downcast_index(index), faiss.IndexHNSW)
        self._vectors = _stored_vectors(index, self._is_hnsw)
        rows = np.arange(index.ntotal, dtype=np.int64) if row_chunks is None else np.asarray(row_chunks, np.int64)
        if len(rows) != index.ntotal:
            raise ValueError(f"{len(rows)} row ids for {index.ntotal} vectors")
        self.row_chunks = rows
        live = rows >= 0
        self.chunks = int(live.sum())
        self.chunk_rows = np.full(int(rows.max(initial=-1)) + 1, -1, dtype=np.int64)
        self.chunk_rows[rows[live]] = np.flatnonzero(live)
        self._bitmap = None if self.chunks == len(rows) else np.packbits(live, bitorder="little")
        self._identity = bool(np.array_equal(rows, np.arange(len(rows))))  # row i holds chunk i

    @classmethod
    def build(cls, vectors: np.ndarray, flat_limit: int = FLAT_LIMIT) -> DenseIndex:
        return cls(build_faiss_index(vectors, flat_limit))

    @classmethod
    def load(cls, path: Path, row_chunks: np.ndarray | None = None) -> DenseIndex:
        return cls(faiss.read_index(str(path)), row_chunks)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    def extended(self, row_chunks: np.ndarray, vectors: np.ndarray, chunks: np.ndarray) -> DenseIndex:
        """This index with its rows reassigned to chunks (`row_chunks`, -1: unused) and `vectors` added
        for `chunks`. Changes this index's faiss object: call it on an index loaded for the purpose."""
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return DenseIndex(self._index, np.concatenate([row_chunks, np.asarray(chunks, np.int64)]))

    @property
    def unused_share(self) -> float:
        return 1 - self.chunks / max(1, len(self.row_chunks))

    @property
    def info(self) -> DenseIndexInfo:
        return DenseIndexInfo("hnsw" if self._is_hnsw else "flat", self.chunks, self._index.d)

    @property
    def nbytes(self) -> int:
        """The index's size as saved: vectors, and the graph for HNSW."""
        return int(faiss.serialize_index(self._index).size)

    def all_vectors(self) -> np.ndarray:
        """The vectors of chunks 0, 1, ... in order."""
        return self._vectors[self.chunk_rows].copy()

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k best (row, cosine), best first; with `allowed`, among those rows only."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if allowed is not None:
            return self._search_rows(query[0], k, allowed)
        k = min(k, self.chunks)
        if k <= 0:
            return []
        params: Any = faiss.SearchParametersHNSW() if self._is_hnsw else faiss.SearchParameters()  # type: ignore[attr-defined]  # faiss's stubs lag
        if self._is_hnsw:
            params.efSearch = max(HNSW_SEARCH_DEPTH, k)
        if self._bitmap is not None:  # unused rows are skipped inside the search, so k rows still come back
            params.sel = faiss.IDSelectorBitmap(len(self.row_chunks), faiss.swig_ptr(self._bitmap))
        with _one_thread():
            scores, ids = self._index.search(query, k, params=params)
        found = ids[0] >= 0
        return list(zip(self.row_chunks[ids[0][found]].tolist(), scores[0][found].tolist(), strict=True))

    def every_score(self, query: np.ndarray) -> np.ndarray:
        """Every chunk's score by chunk id (float32; -inf for an id without a vector), in one pass: the
        floats faiss's flat search returns (its own kernel, fvec_inner_products_ny; a numpy product adds up
        in another order). For a ranking of documents, not chunks: the best 1,000 of NFCorpus's 3,633
        documents needed 2,400 to 2,900 of its 13,239 chunks ranked, 1.1 ms in faiss's search against
        0.37 ms for every score."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        rows = np.empty(self._vectors.shape[0], dtype=np.float32)
        if rows.size:
            faiss.fvec_inner_products_ny(faiss.swig_ptr(rows), faiss.swig_ptr(query),  # type: ignore[attr-defined]
                                         faiss.swig_ptr(self._vectors), query.size, rows.size)  # fmt: skip
        if self._identity:
            return rows
        scores = rows[self.chunk_rows]
        scores[self.chunk_rows < 0] = -np.inf
        return scores

    def _search_rows(self, query: np.ndarray, k: int, chunks: np.ndarray) -> list[tuple[int, float]]:
        k = min(k, chunks.size)
        if k <= 0:
            return []
        chunks = np.asarray(chunks, dtype=np.int64)
        rows = self.chunk_rows[chunks]
        if rows.size >= FULL_PASS_SHARE * self._vectors.shape[0]:
            scores = (self._vectors @ query)[rows]
        else:
            scores = self._vectors[rows] @ query
        best = np.argpartition(-scores, k - 1)[:k] if rows.size > k else np.arange(rows.size)
        best = best[np.lexsort((chunks[best], -scores[best]))]  # ties by smaller chunk id, as exact search does
        return [(int(chunks[i]), float(scores[i])) for i in best]


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """faiss's OpenMP threads down to one in this thread (the setting is per thread), for one query: its
    flat and HNSW searches split the work by query, so a second thread only waits, and on a shared
    2-core machine waking it made NFCorpus's exact search for 4,000 chunks 2x slower (bench/bm25_topk.py)."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


def _stored_vectors(index: faiss.Index, is_hnsw: bool) -> np.ndarray:
    """The index's vectors as a read-only view of faiss's own memory: scoring a scope copies nothing.
    Valid while `index` lives; DenseIndex keeps both."""
    flat = faiss.downcast_index(faiss.downcast_index(index).storage if is_hnsw else index)  # type: ignore[attr-defined]
    if flat.ntotal == 0:
        return np.zeros((0, flat.d), dtype=np.float32)
    view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)  # type: ignore[attr-defined]
    view.flags.writeable = False
    return view
