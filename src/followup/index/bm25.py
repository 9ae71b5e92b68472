"""BM25 over chunk tokens: rank-bm25's BM25Okapi scores (k1=1.5, b=0.75, epsilon=0.25), from postings.

Each term's postings (the chunks holding it and its precomputed contribution to their scores) are built
once, as in bm25s, so a query touches only its terms' postings instead of looping over every chunk in
Python. tests/unit/test_bm25.py checks the scores equal `rank_bm25.BM25Okapi(...).get_scores`, edge
cases included. Measured on this 2-core machine at 100,000 chunks of ~80 tokens (30,000-term Zipf
vocabulary): 0.6-0.9 ms per 5-term query (median of 200) against rank-bm25's ~100 ms; building takes
~1.7-2.5 s, as long as rank-bm25's, with 12 bytes per (term, chunk) pair.

A build saves the postings as arrays and the vocabulary as one sorted UTF-8 blob with offsets; a
loaded index maps them and finds a term by bisection over the blob, so loading reads nothing and a
question touches only its terms' postings.

A search for the k best chunks (`top`) need not score every posting: with each term's highest weight
saved beside its postings, the chunks holding none of the terms that could lift a score to the k-th
best found so far are never scored (MaxScore, Turtle and Flood 1995, applied to whole posting lists
with numpy instead of chunk by chunk). It returns exactly what ranking `scores` returns.
"""

from __future__ import annotations

import abc
import bisect
import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from followup.core.storage import offsets
from followup.index.layout import BM25_RANGES_FILE, mapped_array, mapped_bytes

K1 = 1.5
B = 0.75
EPSILON = 0.25
FILES = (
    "bm25-docs.npy",
    "bm25-weights.npy",
    "bm25-term-spans.npy",
    "bm25-terms.bin",
    "bm25-term-offsets.npy",
    BM25_RANGES_FILE,
)
Ranked = list[tuple[int, float]]  # (chunk id, score), best first
ROUNDING_MARGIN = 4  # times the float64 rounding error a sum in another order can have, at most
LEAST_POSITIVE = np.float32(np.nextafter(np.float32(0), np.float32(1)))  # the k best score at least this
# Looking a chunk up in a term's postings (a bisection) against adding one posting to the score array:
# a term whose postings are fewer than this many times the chunks to look up is added up instead.
LOOKUP_COST = 16
# Scoring every posting costs ~5 ns each; keeping bounds costs ~30 us a query beyond it (2-core AMD EPYC).
FEW_POSTINGS = 16_384
SAMPLE = 1024  # values sampled to find the k-th largest of many without sorting them all


@dataclass(frozen=True)
class TermPostings:
    """A term's postings: rows first to end of the postings arrays, and the lowest and highest weight
    among them (what the term can add to one chunk's score)."""

    first: int
    end: int
    lowest: float
    highest: float


class TermTable(abc.ABC):
    """A vocabulary: each term's row in `spans` ((first, end) rows of the postings arrays) and in
    `ranges` (the lowest and highest weight among its postings)."""

    def __init__(self, spans: np.ndarray, ranges: np.ndarray) -> None:
        self._spans, self._ranges = spans, ranges

    @abc.abstractmethod
    def position(self, term: str) -> int | None: ...

    def __len__(self) -> int:
        return len(self._spans)

    @abc.abstractmethod
    def __iter__(self) -> Iterator[str]: ...

    def get(self, term: str) -> tuple[int, int] | None:
        i = self.position(term)
        return None if i is None else (int(self._spans[i, 0]), int(self._spans[i, 1]))

    def postings(self, term: str) -> TermPostings | None:
        i = self.position(term)
        if i is None:
            return None
        (first, end), (lowest, highest) = self._spans[i].tolist(), self._ranges[i].tolist()
        return TermPostings(first, end, lowest, highest)

    @property
    def spans(self) -> np.ndarray:
        """(terms, 2): each term's (first, end) postings rows, in the vocabulary's order."""
        return np.asarray(self._spans)

    @property
    def ranges(self) -> np.ndarray:
        """(terms, 2): each term's lowest and highest posting weight, in the vocabulary's order."""
        return np.asarray(self._ranges)


class BuiltTerms(TermTable):
    """A vocabulary just built, in order of first appearance, found by a dict."""

    def __init__(self, rows: dict[str, int], spans: np.ndarray, ranges: np.ndarray) -> None:
        super().__init__(spans, ranges)
        self._rows = rows

    def position(self, term: str) -> int | None:
        return self._rows.get(term)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)


class SortedTerms(TermTable):
    """A saved vocabulary: terms sorted as UTF-8 bytes in one mapped blob, found by bisection."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, spans: np.ndarray, ranges: np.ndarray) -> None:
        super().__init__(spans, ranges)
        self._blob, self._offsets = blob, offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        return self._blob[self._offsets[i] : self._offsets[i + 1]].tobytes()

    def position(self, term: str) -> int | None:
        key = term.encode()
        i = bisect.bisect_left(self, key)  # a sequence of bytes, by __getitem__ and __len__
        return i if i < len(self) and self[i] == key else None

    def __iter__(self) -> Iterator[str]:
        return (self[i].decode() for i in range(len(self)))


class BM25Index:
    def __init__(self, chunk_tokens: Sequence[Sequence[str]]) -> None:
        n_docs = len(chunk_tokens)
        self._n_docs = n_docs
        # Term ids in order of first appearance: the order rank-bm25 sums idf in for its average.
        term_ids: dict[str, int] = {}
        lengths = np.fromiter((len(tokens) for tokens in chunk_tokens), dtype=np.int64, count=n_docs)
        flat = np.fromiter(
            (term_ids.setdefault(t, len(term_ids)) for tokens in chunk_tokens for t in tokens),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        self._spans: TermTable = BuiltTerms({}, np.zeros((0, 2), np.int64), np.zeros((0, 2), np.float64))
        self._docs = np.zeros(0, dtype=np.int32)
        self._weights = np.zeros(0, dtype=np.float64)
        if not term_ids:  # no chunk or only empty ones: rank-bm25 divides by zero here; every score is 0
            return

        # One key per token, term-major: sorted, each term's postings are contiguous and ordered by chunk,
        # and a run of equal keys is one (term, chunk) pair whose length is the term frequency.
        # (Sorted and diffed by hand: np.unique(..., return_counts=True) was markedly slower at 100k chunks.)
        keys = flat * n_docs + np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        keys.sort()
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        tf = np.diff(np.append(starts, len(keys)))
        terms, docs = np.divmod(keys[starts], n_docs)
        df = np.bincount(terms, minlength=len(term_ids))

        # math.log and a sequential sum, as rank-bm25 computes them, so the idf floor is the same float.
        raw_idf = [math.log(n_docs - n + 0.5) - math.log(n + 0.5) for n in df.tolist()]
        floor = EPSILON * (sum(raw_idf) / len(raw_idf))
        # Only idf < 0 is floored (idf == 0 stays 0); the floor is negative when the average idf is.
        idf = np.array([floor if x < 0 else x for x in raw_idf])

        avgdl = int(lengths.sum()) / n_docs  # empty chunks count, as in rank-bm25
        dl = lengths[docs]
        # rank-bm25's expression in its order of operations, in float64, so each contribution is identical.
        self._weights = idf[terms] * (tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl)))
        self._docs = docs.astype(np.int32)  # half the memory of int64; chunk counts stay far below 2**31
        bounds = offsets(df)  # every term has a posting, so no span is empty
        spans = np.stack([bounds[:-1], bounds[1:]], axis=1)
        ranges = np.stack([np.minimum.reduceat(self._weights, bounds[:-1]),
                           np.maximum.reduceat(self._weights, bounds[:-1])], axis=1)  # fmt: skip
        self._spans = BuiltTerms(term_ids, spans, ranges)

    def save(self, directory: Path) -> None:
        encoded = [t.encode() for t in self._sorted_terms]
        rows = self._sorted_rows
        np.save(directory / "bm25-docs.npy", np.append(self._docs, np.int32(self._n_docs)))  # last: chunk count
        np.save(directory / "bm25-weights.npy", self._weights)
        np.save(directory / "bm25-term-spans.npy", self._spans.spans[rows].astype(np.int64).reshape(-1, 2))
        np.save(directory / BM25_RANGES_FILE, self._spans.ranges[rows].astype(np.float64).reshape(-1, 2))
        (directory / "bm25-terms.bin").write_bytes(b"".join(encoded))
        np.save(directory / "bm25-term-offsets.npy", offsets([len(e) for e in encoded]))

    @classmethod
    def open(cls, directory: Path) -> BM25Index:
        """A saved index, memory-mapped."""
        index = cls.__new__(cls)
        docs = mapped_array(directory / "bm25-docs.npy")
        index._n_docs = int(docs[-1])
        index._docs = docs[:-1]
        index._weights = mapped_array(directory / "bm25-weights.npy")
        blob = mapped_bytes(directory / "bm25-terms.bin")
        term_offsets = mapped_array(directory / "bm25-term-offsets.npy")
        spans = mapped_array(directory / "bm25-term-spans.npy")
        ranges = mapped_array(directory / BM25_RANGES_FILE)
        if len(index._docs) != len(index._weights) or not len(spans) == len(ranges) == len(term_offsets) - 1:
            raise ValueError("BM25 files disagree on the number of postings or terms")
        index._spans = SortedTerms(blob, term_offsets, spans, ranges)
        return index

    @property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self._spans)

    @property
    def chunks(self) -> int:
        return self._n_docs

    def sorted_postings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every posting's chunk and weight (idf times the term-frequency part), and each term's (first,
        end) rows in them, terms in UTF-8 byte order as saved: what another engine needs to compute the
        same scores (index/milvus.py)."""
        spans = self._spans.spans[self._sorted_rows].astype(np.int64).reshape(-1, 2)
        return np.asarray(self._docs), np.asarray(self._weights), spans

    def term_position(self, term: str) -> int | None:
        """The term's position in the vocabulary in UTF-8 byte order, None for a term no chunk has."""
        if isinstance(self._spans, SortedTerms):
            return self._spans.position(term)
        return self._term_positions.get(term)

    @functools.cached_property
    def _sorted_terms(self) -> list[str]:
        return sorted(self._spans, key=str.encode)

    @functools.cached_property
    def _sorted_rows(self) -> np.ndarray:
        """The vocabulary's rows in UTF-8 byte order of their terms (a saved one is in that order)."""
        if isinstance(self._spans, SortedTerms):
            return np.arange(len(self._spans))
        return np.array([self._spans.position(t) for t in self._sorted_terms], dtype=np.int64)

    @functools.cached_property
    def _term_positions(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self._sorted_terms)}

    def chunks_with(self, term: str) -> npt.NDArray[np.int32]:
        """The chunks holding the term, ascending."""
        span = self._spans.get(term)
        return np.asarray(self._docs[span[0] : span[1]]) if span else np.zeros(0, np.int32)

    @property
    def nbytes(self) -> int:
        """Memory of the postings (the term dictionary aside)."""
        return int(self._docs.nbytes + self._weights.nbytes)

    def scores(self, query_tokens: Sequence[str]) -> npt.NDArray[np.float32]:
        """One raw BM25 score per chunk (0 where no query term occurs)."""
        return self._every_score(self._terms(query_tokens))

    def _terms(self, query_tokens: Sequence[str]) -> _QueryTerms:
        return _QueryTerms.of([self._spans.postings(t) for t in query_tokens])

    def _every_score(self, terms: _QueryTerms) -> npt.NDArray[np.float32]:
        scores = np.zeros(self._n_docs, dtype=np.float64)
        # Term by term in query order, a repeated term once per occurrence: rank-bm25's summation order.
        # A term's postings hold each chunk once, so plain fancy-index addition is safe.
        for term in terms.in_query_order:
            scores[self._docs[term.first : term.end]] += self._weights[term.first : term.end]
        return scores.astype(np.float32)

    def scores_for(self, query_tokens: Sequence[str], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """`scores(query_tokens)[rows]` for ascending `rows`, at a cost that follows len(rows), not the
        corpus (`_scores_at`)."""
        return self._scores_at(self._terms(query_tokens), rows)

    def top(self, query_tokens: Sequence[str], k: int, rows: npt.NDArray[np.int64] | None = None) -> Ranked:
        """The k chunks of highest positive score, best first, ties by smaller chunk id; among `rows`
        (ascending chunk ids) when given. Exactly what ranking `scores` (or `scores_for`) returns: the
        same chunks in the same order with the same float32 scores.

        The chunks that cannot make the k best are found from bounds (`_contenders`) and only the others
        are scored to the bit (`_exact`). A scope smaller than the query's postings is scored whole, as
        are postings too few for the bounds to save more than they cost."""
        if k <= 0:
            return []
        terms = self._terms(query_tokens)
        if rows is not None and (rows.size <= terms.postings or terms.postings < FEW_POSTINGS):
            return _best(self._scores_at(terms, rows), k, rows)
        if terms.postings < FEW_POSTINGS:
            return _best(self._every_score(terms), k)
        contenders, sums = self._contenders(terms, k, rows)
        return _best(self._exact(terms, contenders, sums), k, contenders)

    def _contenders(
        self, terms: _QueryTerms, k: int, rows: npt.NDArray[np.int64] | None
    ) -> tuple[np.ndarray, npt.NDArray[np.float64]]:
        """The chunks (ascending; among `rows`) that can be among the k best, and their scores summed in
        another order than `scores` sums them (within `terms.slack` of it).

        MaxScore over whole posting lists (Turtle and Flood 1995): terms are added up in order of their
        highest weight, and once k chunks score more than the terms left can add, a chunk they alone
        hold cannot make the k best: their postings are not added up, only looked up for the chunks
        still in reach of the k-th best (where that costs less than adding them up)."""
        partial = np.zeros(self._n_docs, dtype=np.float64)
        inside = None if rows is None else np.zeros(self._n_docs, dtype=bool)
        if inside is not None:
            inside[rows] = True
        left = sum(terms.bounds)  # what the terms not added up can add to a score, at most
        below = sum(min(0.0, n * t.lowest) for t, n in terms.counts.items())  # and at least
        added, floor = 0.0, LEAST_POSITIVE  # `floor`: a score k chunks reach; the k best are positive
        skipped: list[TermPostings] = []
        for term, bound in zip(terms.distinct, terms.bounds, strict=True):
            if bound <= 0 or np.float32(left + terms.slack) < floor:
                skipped.append(term)
                continue
            self._add(partial, term, terms.counts[term])
            left, below, added = left - bound, below - min(0.0, terms.counts[term] * term.lowest), added + bound
            if left + terms.slack < added + below:  # the k-th best may be out of the other terms' reach
                chunks = _within(self._docs[term.first : term.end], inside)  # some chunks: their k-th best
                floor = max(floor, _floor(partial[chunks] + (below - terms.slack), k))
        # A term of positive bound has only positive weights (its idf is positive): the chunks holding
        # one of those added up are those of a positive sum.
        chunks = _within(np.flatnonzero(partial > 0), inside)
        if added:
            floor = max(floor, _floor(partial[chunks] + (below - terms.slack), k))
        contenders = chunks[(partial[chunks] + (left + terms.slack)).astype(np.float32) >= floor]
        sums = np.zeros(contenders.size, dtype=np.float64)
        for term in skipped:
            count = terms.counts[term]
            if contenders.size * LOOKUP_COST < term.end - term.first:
                at, weights = self._matches(term, contenders)
                sums[at] += weights if count == 1 else count * weights
            else:
                self._add(partial, term, count)
        return contenders, sums + partial[contenders]

    def _add(self, sums: npt.NDArray[np.float64], term: TermPostings, count: int) -> None:
        """The term's weights, `count` times, added to the sums of its chunks."""
        weights = self._weights[term.first : term.end]
        np.add.at(sums, self._docs[term.first : term.end], weights if count == 1 else count * weights)

    def _exact(self, terms: _QueryTerms, chunks: np.ndarray, sums: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        """`scores(query)[chunks]` from `sums`, their scores summed in another order: the same float32
        unless a float32 rounding boundary lies within the slack of a sum; those few are summed again,
        in query order (`_scores_at`)."""
        low = (sums - terms.slack).astype(np.float32)
        unsure = np.flatnonzero(low != (sums + terms.slack).astype(np.float32))
        if unsure.size:
            low[unsure] = self._scores_at(terms, chunks[unsure])
        return low

    def _scores_at(self, terms: _QueryTerms, chunks: np.ndarray) -> npt.NDArray[np.float32]:
        """`scores(query)[chunks]` for ascending `chunks`: each term's postings are sorted by chunk, so
        they and the chunks are matched by bisection (the shorter list looked up in the longer), then
        added in query order as `scores` adds them, so each sum is the same float."""
        sums = np.zeros(chunks.size, dtype=np.float64)
        matched: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for term in terms.in_query_order:
            if chunks.size == 0:
                break
            if term.first not in matched:
                matched[term.first] = self._matches(term, chunks)
            at, weights = matched[term.first]
            sums[at] += weights
        return sums.astype(np.float32)

    def _matches(self, term: TermPostings, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the term's postings fall in `chunks`, and their weights there."""
        docs, weights = self._docs[term.first : term.end], self._weights[term.first : term.end]
        if docs.size <= chunks.size:
            at = np.minimum(np.searchsorted(chunks, docs), chunks.size - 1)
            found = chunks[at] == docs
            return at[found], weights[found]
        at = np.minimum(np.searchsorted(docs, chunks), docs.size - 1)
        found = docs[at] == chunks
        return np.flatnonzero(found), weights[at[found]]


@dataclass(frozen=True)
class _QueryTerms:
    """A query's known terms: in query order (a repeated term once per occurrence, as rank-bm25 counts
    it), and each distinct one with its occurrences and what it adds to a chunk's score at most."""

    in_query_order: tuple[TermPostings, ...]
    counts: dict[TermPostings, int]
    distinct: tuple[TermPostings, ...]  # highest bound first; then the shorter postings
    bounds: tuple[float, ...]  # of `distinct`: occurrences times the highest weight, 0 if negative
    slack: float  # what rounding can move a sum of the terms' contributions by, at most
    postings: int  # of `distinct`, in all

    @classmethod
    def of(cls, found: Sequence[TermPostings | None]) -> _QueryTerms:
        known = tuple(t for t in found if t is not None)
        counts: dict[TermPostings, int] = {}
        for term in known:
            counts[term] = counts.get(term, 0) + 1
        bound = {t: n * max(t.highest, 0.0) for t, n in counts.items()}
        distinct = tuple(sorted(counts, key=lambda t: (-bound[t], t.end - t.first, t.first)))
        # Two float64 sums of the same n terms in different orders differ by at most 2 (n - 1) eps/2
        # times the sum of their magnitudes (Higham 2002, section 4.2); widened by ROUNDING_MARGIN.
        magnitude = sum(n * max(abs(t.lowest), abs(t.highest)) for t, n in counts.items())
        slack = ROUNDING_MARGIN * (len(known) + 2) * float(np.finfo(np.float64).eps) * magnitude
        return cls(known, counts, distinct, tuple(bound[t] for t in distinct), slack,
                   sum(t.end - t.first for t in distinct))  # fmt: skip


def _within(chunks: np.ndarray, inside: npt.NDArray[np.bool_] | None) -> np.ndarray:
    return chunks if inside is None else chunks[inside[chunks]]


def _floor(lowest: npt.NDArray[np.float64], k: int) -> np.float32:
    """A float32 score k chunks reach, from bounds below their scores: the k-th largest bound (rounding
    is monotonic, so k float32 scores are at least its float32)."""
    if lowest.size < k:
        return LEAST_POSITIVE
    return np.float32(_kth_largest(lowest, k))


def _kth_largest(values: np.ndarray, k: int) -> float:
    """The k-th largest value: partitioned among those at or above a threshold from a sample, which
    are far fewer than all when k is (all of them when the sample misjudged)."""
    if values.size > 4 * SAMPLE:
        sample = np.sort(values[:: values.size // SAMPLE])
        rank = min(sample.size - 1, 2 * k * sample.size // values.size + 1)
        above = values[values >= sample[sample.size - 1 - rank]]
        if above.size >= k:
            values = above
    return float(np.partition(values, values.size - k)[values.size - k])


def _best(scores: npt.NDArray[np.float32], k: int, chunks: np.ndarray | None = None) -> Ranked:
    """The k highest positive of `scores` (those of ascending `chunks`; by default chunk i's at i), best
    first, ties by smaller chunk: as retrievers.top_scores ranks them, in numpy."""
    keep = np.flatnonzero(scores > 0)
    chunks, scores = (keep if chunks is None else chunks[keep]), scores[keep]
    if scores.size > k:
        cut = np.partition(scores, scores.size - k)[scores.size - k]
        tied_or_better = scores >= cut
        chunks, scores = chunks[tied_or_better], scores[tied_or_better]
    order = np.lexsort((chunks, -scores))[:k]
    return list(zip(chunks[order].tolist(), scores[order].tolist(), strict=True))
