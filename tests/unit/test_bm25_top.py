"""BM25Index.top against the exhaustive ranking (every chunk scored, then ranked by top_scores): the same
chunks, order and float32 scores, whichever way top finds them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from followup.index import bm25 as bm25_module
from followup.index.bm25 import BM25Index, TermPostings
from followup.index.retrievers import EmbeddedRetriever, SearchScope, top_scores
from tests.unit.test_bm25 import zipf_corpus

Ranking = list[tuple[int, float]]


def exhaustive(index: BM25Index, query: list[str], k: int, rows: np.ndarray | None = None) -> Ranking:
    if rows is None:
        return top_scores(index.scores(query), k, positive_only=True)
    return [(int(rows[i]), s) for i, s in top_scores(index.scores_for(query, rows), k, positive_only=True)]


def random_queries(rng: np.random.Generator, terms: int, count: int) -> Iterator[list[str]]:
    """Known and unknown terms (t{terms} and up are in no chunk), repeats, and the empty query."""
    yield []
    for _ in range(count):
        yield [f"t{i}" for i in rng.integers(0, terms + 3, size=rng.integers(1, 8))]


# The ways top can take: as it decides (whole for few postings), and with its bounds always kept, the
# terms left over added up or looked up, the k-th largest found from a tiny sample, and every sum
# rounded again in query order.
PATHS: dict[str, dict[str, float]] = {
    "as-decided": {},
    "bounds-added-up": {"FEW_POSTINGS": 0, "LOOKUP_COST": 10**9},
    "bounds-looked-up": {"FEW_POSTINGS": 0, "LOOKUP_COST": 0, "SAMPLE": 2},
    "every-sum-rechecked": {"FEW_POSTINGS": 0, "ROUNDING_MARGIN": 1e15},
}


@pytest.fixture(params=list(PATHS))
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in PATHS[request.param].items():
        monkeypatch.setattr(bm25_module, name, value)
    return str(request.param)


def test_top_equals_the_exhaustive_ranking_on_random_corpora(path: str) -> None:
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n_docs, n_terms = int(rng.integers(1, 400)), int(rng.integers(2, 80))
        index = BM25Index(zipf_corpus(seed, n_docs=n_docs, n_terms=n_terms))
        for query in random_queries(rng, n_terms, 15):
            for k in sorted({1, 2, 3, 10, max(1, n_docs // 2), n_docs, n_docs + 5}):
                assert index.top(query, k) == exhaustive(index, query, k), (path, seed, query, k)


def test_top_within_rows_equals_the_exhaustive_ranking_of_those_rows(path: str) -> None:
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        n_docs = int(rng.integers(1, 400))
        index = BM25Index(zipf_corpus(seed, n_docs=n_docs))
        scopes = [np.zeros(0, np.int64), np.arange(n_docs, dtype=np.int64), np.array([n_docs - 1], np.int64)]
        scopes += [np.sort(rng.choice(n_docs, size=int(rng.integers(1, n_docs + 1)), replace=False)) for _ in range(4)]
        for query in random_queries(rng, 60, 8):
            for rows in scopes:
                for k in (1, 3, 10, n_docs):
                    assert index.top(query, k, rows) == exhaustive(index, query, k, rows), (path, seed, query, k)


def test_ties_go_to_the_smaller_chunk_id(path: str) -> None:
    # Each chunk five times over: every positive score is tied at least five ways, and a cut at k splits ties.
    rng = np.random.default_rng(5)
    corpus = [tokens for tokens in zipf_corpus(9, n_docs=60) for _ in range(5)]
    index = BM25Index(corpus)
    for query in random_queries(rng, 60, 40):
        for k in (1, 2, 4, 5, 6, 7, 11, 150, 300):
            got = index.top(query, k)
            assert got == exhaustive(index, query, k), (path, query, k)
            assert all((-a[1], a[0]) < (-b[1], b[0]) for a, b in itertools.pairwise(got))
    assert len({s for _, s in index.top(["t3"], 300)}) < len(index.top(["t3"], 300))  # ties were there


def test_repeated_terms_count_once_per_occurrence(path: str) -> None:
    index = BM25Index(zipf_corpus(3, n_docs=300))
    once, twice = index.top(["t4"], 20), index.top(["t4", "t9", "t4"], 20)
    assert twice == exhaustive(index, ["t4", "t9", "t4"], 20)
    assert [c for c, _ in index.top(["t4", "t4"], 20)] == [c for c, _ in once]
    assert index.top(["t4", "t4"], 20) != once  # doubled scores


def test_nothing_for_no_known_term_no_chunk_or_no_k(path: str) -> None:
    index = BM25Index(zipf_corpus(4))
    assert index.top([], 10) == index.top(["unknown", "unknown"], 10) == []
    assert index.top(["t1"], 0) == []
    assert BM25Index([]).top(["t1"], 10) == BM25Index([[], []]).top(["t1"], 10) == []


def test_a_saved_index_ranks_as_built(tmp_path: Path, path: str) -> None:
    built = BM25Index(zipf_corpus(6, n_docs=300))
    built.save(tmp_path)
    opened = BM25Index.open(tmp_path)
    for query in random_queries(np.random.default_rng(7), 60, 20):
        for k in (1, 10, 300):
            assert opened.top(query, k) == built.top(query, k) == exhaustive(built, query, k)


def test_the_embedded_retriever_ranks_by_top() -> None:
    index = BM25Index(zipf_corpus(8, n_docs=200))
    retriever = EmbeddedRetriever(index, dense=None)  # type: ignore[arg-type]  # lexical only
    rows = np.arange(0, 200, 3, dtype=np.int64)
    assert retriever.lexical(["t2", "t7"], 25) == exhaustive(index, ["t2", "t7"], 25)
    assert retriever.lexical(["t2", "t7"], 25, SearchScope(("a",), rows)) == exhaustive(index, ["t2", "t7"], 25, rows)


def test_a_frequent_term_of_low_weight_is_looked_up_not_added_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # One rare term of high weight in 20 chunks, one common term of low weight in every chunk: for the
    # best 5, the common term's postings cannot lift a chunk without the rare term above the 5th best.
    corpus = [["rare", "common"] if i % 50 == 0 else ["common", f"w{i}"] for i in range(1000)]
    index = BM25Index(corpus)
    added: list[int] = []
    original = BM25Index._add

    def spy(self: BM25Index, sums: np.ndarray, term: TermPostings, count: int) -> None:
        added.append(term.end - term.first)
        original(self, sums, term, count)

    monkeypatch.setattr(bm25_module, "FEW_POSTINGS", 0)
    monkeypatch.setattr(BM25Index, "_add", spy)
    assert index.top(["common", "rare"], 5) == exhaustive(index, ["common", "rare"], 5)
    assert added == [20]  # the rare term's postings only
