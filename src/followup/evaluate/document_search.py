"""A benchmark's documents ranked for one query by each retriever: a document scores as its best chunk
(MaxP), and a ranking holds the `candidates` best documents, ties by smaller document.

Two ways to the same rankings:
- `EveryChunkScored`, in this process: every chunk's BM25 and cosine score at once, then each
  document's best by one reduction over its chunks (stored side by side). This is the path `followup
  eval` and `make compare-peers` time: NFCorpus's 1,000 best documents of 3,633 need 2,400 to 2,900
  of its 13,239 chunks ranked, and every score costs less than ranking that many chunks.
- `ChunksSearched`, through the Retriever seam (a Milvus server): the best chunks of one search, as
  deep as the server goes.

Both return what ranking the documents of every chunk's score returns (the second while the chunks it
returns decide the documents): the same documents, order and float32 scores
(tests/unit/test_evaluation.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.retrievers import Ranking, Retriever
from followup.retrieve.hybrid import Ranked


class DocumentSearch(Protocol):
    def lexical(self, tokens: Sequence[str]) -> Ranked:
        """Documents by BM25, a document none of whose chunks holds a query term scoring 0."""
        ...

    def semantic(self, vector: np.ndarray) -> Ranked:
        """Documents by cosine to the query vector."""
        ...


@dataclass(frozen=True)
class EveryChunkScored:
    """Every chunk scored by the embedded retriever's own indexes (BM25Index.scores, DenseIndex.every_score:
    the floats their top-k searches return), each document as its best chunk. Chunks are numbered
    document by document, each document with at least one: `first_chunks[d]` is document d's first."""

    bm25: BM25Index
    dense: DenseIndex
    first_chunks: np.ndarray
    candidates: int

    @classmethod
    def of(cls, bm25: BM25Index, dense: DenseIndex, chunk_document: np.ndarray, candidates: int) -> EveryChunkScored:
        documents = int(chunk_document.max(initial=-1)) + 1
        first = np.searchsorted(chunk_document, np.arange(documents))
        grouped = bool(np.all(np.diff(chunk_document) >= 0))
        if not grouped or np.any(np.bincount(chunk_document, minlength=documents) == 0):
            raise ValueError("every document needs one chunk or more, numbered document by document")
        return cls(bm25, dense, first, candidates)

    def lexical(self, tokens: Sequence[str]) -> Ranked:
        # A chunk without a query term scores 0 and the k best are positive, as BM25Index.top ranks them.
        best = np.maximum(np.maximum.reduceat(self.bm25.scores(tokens), self.first_chunks), np.float32(0))
        return top_documents(best, self.candidates)

    def semantic(self, vector: np.ndarray) -> Ranked:
        return top_documents(np.maximum.reduceat(self.dense.every_score(vector), self.first_chunks), self.candidates)


@dataclass(frozen=True)
class ChunksSearched:
    """The best `depth` chunks of a retriever's search, each document as its best among them. The
    documents rank as every chunk's scores rank them while the chunks returned decide them: when the
    last document kept scores above the last chunk returned, or the search returned every chunk it
    scores (a server returns at most SERVER_DEPTH chunks: all of NFCorpus's, MedQuAD's best third)."""

    retriever: Retriever
    chunk_document: np.ndarray
    chunk_counts: np.ndarray  # each document's number of chunks
    depth: int
    candidates: int

    def lexical(self, tokens: Sequence[str]) -> Ranked:
        # Chunks a search does not return score 0, as BM25 scores them.
        return self._documents(self.retriever.lexical(tokens, self.depth), 0.0)

    def semantic(self, vector: np.ndarray) -> Ranked:
        return self._documents(self.retriever.semantic(vector, self.depth), -np.inf)

    def _documents(self, found: Ranking, missing: float) -> Ranked:
        return best_documents(found, self.chunk_document, self.chunk_counts, self.candidates, missing)


def top_documents(scores: np.ndarray, k: int) -> Ranked:
    """The k best of the documents' scores, best first, ties by smaller document (as top_scores)."""
    candidates = np.arange(scores.size)
    if scores.size > k:  # ties with the k-th best stay until the sort, so the cut is by smaller document too
        candidates = np.flatnonzero(scores >= np.partition(scores, scores.size - k)[scores.size - k])
    order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
    return Ranked(order, scores[order])


def best_documents(
    found: Ranking, chunk_document: np.ndarray, chunk_counts: np.ndarray, k: int, missing: float
) -> Ranked:
    """The k best documents, each scoring as its best chunk among `found` (float32, as scores are kept),
    and at least `missing` while some chunk of it is not found (a document without chunks: -inf). From
    the chunks found, without a score for every chunk: what top_scores(best_chunk_per_document(the
    chunks' scores, missing where not found), k) ranks."""
    chunks = np.fromiter((c for c, _ in found), dtype=np.int64, count=len(found))
    scores = np.fromiter((s for _, s in found), dtype=np.float32, count=len(found))
    best = np.full(len(chunk_counts), -np.inf, dtype=np.float32)
    np.maximum.at(best, chunk_document[chunks], scores)
    unfound = np.bincount(chunk_document[chunks], minlength=len(chunk_counts)) < chunk_counts
    best[unfound] = np.maximum(best[unfound], np.float32(missing))
    return top_documents(best, k)
