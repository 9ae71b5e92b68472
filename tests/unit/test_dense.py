from __future__ import annotations

from pathlib import Path

import numpy as np

from followup.core.settings import RetrievalParams
from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.retrievers import EmbeddedRetriever, SearchScope
from followup.retrieve.hybrid import rank_chunks, top_scores


def unit_vectors(n: int, seed: int, d: int = 32) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def exact(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return [i for i, _ in top_scores(vectors @ query, k)]


def test_small_corpora_are_searched_exactly() -> None:
    vectors, queries = unit_vectors(300, seed=1), unit_vectors(20, seed=2)
    index = DenseIndex.build(vectors)
    assert index.info.kind == "flat" and index.info.vectors == 300 and index.info.dimension == 32
    for query in queries:
        got = index.search(query, 10)
        assert [i for i, _ in got] == exact(vectors, query, 10)
        np.testing.assert_allclose([s for _, s in got], np.sort(vectors @ query)[::-1][:10], rtol=1e-5)


def test_large_corpora_get_an_approximate_index_that_finds_the_exact_neighbours() -> None:
    vectors, queries = unit_vectors(3000, seed=3), unit_vectors(50, seed=4)
    index = DenseIndex.build(vectors, flat_limit=1000)
    assert index.info.kind == "hnsw"
    found = [len({i for i, _ in index.search(q, 10)} & set(exact(vectors, q, 10))) for q in queries]
    assert sum(found) / (10 * len(queries)) >= 0.99


def test_a_scoped_search_ranks_only_the_allowed_rows_exactly_whatever_the_index() -> None:
    vectors, queries = unit_vectors(3000, seed=5), unit_vectors(10, seed=6)
    allowed = np.arange(1200, 1230, dtype=np.int64)
    for index in (DenseIndex.build(vectors), DenseIndex.build(vectors, flat_limit=1000)):
        for query in queries:
            got = index.search(query, 8, allowed)
            expected = [1200 + i for i in exact(vectors[1200:1230], query, 8)]
            assert [i for i, _ in got] == expected
        assert len(index.search(queries[0], 50, allowed)) == 30  # k beyond the scope: every allowed row
        # Half the index: scored in one pass over all vectors instead of gathered, same answer.
        half = np.arange(0, 3000, 2, dtype=np.int64)
        for query in queries:
            assert [i for i, _ in index.search(query, 8, half)] == [2 * i for i in exact(vectors[half], query, 8)]
        assert index.search(queries[0], 5, np.zeros(0, dtype=np.int64)) == []


def test_saved_index_loads_with_the_same_kind_and_answers(tmp_path: Path) -> None:
    vectors, query = unit_vectors(2000, seed=7), unit_vectors(1, seed=8)[0]
    for limit in (5000, 1000):
        index = DenseIndex.build(vectors, flat_limit=limit)
        index.save(tmp_path / "dense.faiss")
        loaded = DenseIndex.load(tmp_path / "dense.faiss")
        assert loaded.info == index.info
        assert loaded.search(query, 10) == index.search(query, 10)


def test_ranking_scoped_to_an_article_equals_the_full_ranking_restricted_to_it() -> None:
    rng = np.random.default_rng(9)
    tokens = [[f"t{i}" for i in rng.integers(0, 400, size=30)] for _ in range(400)]
    vectors = unit_vectors(400, seed=10)
    bm25, dense = BM25Index(tokens), DenseIndex.build(vectors)
    retriever = EmbeddedRetriever(bm25, dense)
    allowed = np.arange(100, 160, dtype=np.int64)
    scope = SearchScope(("a",), allowed)
    params = RetrievalParams()
    query_tokens, query_vector = ["t1", "t7", "t30"], unit_vectors(1, seed=11)[0]
    for mode in ("bm25", "dense", "hybrid"):
        scoped = rank_chunks(retriever, query_tokens, query_vector, mode, params, scope)
        assert scoped and all(100 <= i < 160 for i, _ in scoped)
    lexical = rank_chunks(retriever, query_tokens, query_vector, "bm25", params, scope)
    full = bm25.scores(query_tokens)
    inside = np.zeros_like(full)
    inside[allowed] = full[allowed]
    assert lexical == top_scores(inside, params.candidates_per_retriever, positive_only=True)


def test_vectors_read_back_and_size_of_each_kind() -> None:
    vectors = unit_vectors(2000, seed=12)
    flat, hnsw = DenseIndex.build(vectors), DenseIndex.build(vectors, flat_limit=1000)
    for index in (flat, hnsw):
        assert np.array_equal(index.all_vectors(), vectors)
    assert flat.nbytes >= vectors.nbytes and hnsw.nbytes > flat.nbytes  # HNSW adds its graph


def test_every_score_is_the_float_faiss_search_returns_by_chunk_id() -> None:
    """One pass over every vector gives each chunk the float32 faiss's exact search gives it (a numpy
    product differs in the last bit for some), by chunk id, whatever rows the chunks are in."""
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(300, 48)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[7] + 0.1 * vectors[8]
    index = DenseIndex.build(vectors)
    every = index.every_score(query)
    assert every.dtype == np.float32 and every.shape == (300,)
    assert dict(index.search(query, 300)) == dict(enumerate(every.tolist()))
    # Rows reassigned: chunk 0's row unused, chunks 1.. in rows 1.., and two new chunks 400 and 300.
    row_chunks = np.arange(300)
    row_chunks[0] = -1
    extended = DenseIndex.build(vectors).extended(row_chunks, vectors[:2] * -1, np.array([400, 300]))
    scores = extended.every_score(query)
    assert scores.shape == (401,) and scores[0] == -np.inf and np.isneginf(scores[301:400]).all()
    assert dict(extended.search(query, extended.chunks)) == {c: float(scores[c]) for c in [*range(1, 301), 400]}
