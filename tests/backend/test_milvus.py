"""The Milvus backend against a real milvus-lite 2.5.1 engine: the same rankings as the embedded backend,
scoped searches complete, article updates, alias switches under load, the engine going away and back."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from followup.core.errors import BackendUnavailable, IndexProblem
from followup.index.bm25 import BM25Index
from followup.index.milvus import (
    ChunkRows,
    MilvusBackend,
    MilvusRetriever,
    MilvusSettings,
    SparseRows,
    Vocabulary,
    bm25_sparse_rows,
    build_rows,
)
from followup.index.retrievers import Ranking, SearchScope
from tests.backend.conftest import Library, unit_vectors
from tests.milvus_engine import MilvusLiteEngine

K = 10
QUERIES = [["w1"], ["w3", "w17"], ["w2", "w2", "w40"], ["w5", "w11", "w250", "w1200"], ["w8", "unknown", "w60"]]
RELATIVE = 1e-4


def assert_same_ranking(expected: Ranking, got: Ranking, true_scores: np.ndarray) -> None:
    """Same length, same scores rank by rank (float32 rounding aside), each chunk with its own score
    (`true_scores`: every chunk's), and the same chunk ids in order wherever a score is not tied with
    another chunk's: which of two tied chunks makes the cut is arbitrary in the embedded backend
    (argpartition), so ties may differ, never the score at a rank."""
    assert len(got) == len(expected), (expected, got)
    want = np.array([s for _, s in expected])
    have = np.array([s for _, s in got])
    np.testing.assert_allclose(have, want, rtol=RELATIVE, atol=1e-6)
    np.testing.assert_allclose(have, true_scores[[c for c, _ in got]], rtol=RELATIVE, atol=1e-6)
    for rank, ((want_id, score), (have_id, _)) in enumerate(zip(expected, got, strict=True)):
        tied = np.count_nonzero(np.isclose(true_scores, score, rtol=RELATIVE, atol=1e-6)) > 1
        if not tied:
            assert have_id == want_id, (rank, expected, got)


def test_sparse_rows_are_the_postings(library: Library) -> None:
    """The same rows from the index in memory and opened from disk, and row · query = bm25.scores."""
    in_memory = bm25_sparse_rows(BM25Index(library.tokens))
    opened = library.rows.sparse
    np.testing.assert_array_equal(in_memory.indptr, opened.indptr)
    np.testing.assert_array_equal(in_memory.term_ids, opened.term_ids)
    np.testing.assert_array_equal(in_memory.weights, opened.weights)
    assert Vocabulary(BM25Index(library.tokens)).query_vector(["w3", "w3", "x"]) == Vocabulary(
        library.bm25
    ).query_vector(["w3", "w3", "x"])
    vocabulary = Vocabulary(library.bm25)
    for tokens in QUERIES:
        query = vocabulary.query_vector(tokens)
        dots = np.array([sum(w * query.get(t, 0.0) for t, w in opened.row(r).items()) for r in range(len(opened))])
        np.testing.assert_allclose(dots, library.bm25.scores(tokens), rtol=1e-6, atol=1e-6)


def test_sparse_rows_take(library: Library) -> None:
    picked = library.rows.sparse.take(np.array([5, 2, 9]))
    assert isinstance(picked, SparseRows)
    assert [picked.row(i) for i in range(3)] == [library.rows.sparse.row(r) for r in (5, 2, 9)]


@pytest.mark.parametrize("tokens", QUERIES, ids=lambda q: "+".join(q))
def test_lexical_matches_embedded(retriever: MilvusRetriever, library: Library, tokens: list[str]) -> None:
    scores = library.bm25.scores(tokens)
    assert_same_ranking(library.embedded.lexical(tokens, K), retriever.lexical(tokens, K), scores)
    for articles in (("article-03",), ("article-01", "article-07", "article-19")):
        scope = SearchScope(articles, library.chunks_of(*articles))
        expected = library.embedded.lexical(tokens, K, scope)
        got = retriever.lexical(tokens, K, scope)
        assert_same_ranking(expected, got, scores)
        assert {library.article_ids[c] for c, _ in got} <= set(articles)


def test_semantic_matches_embedded(retriever: MilvusRetriever, library: Library) -> None:
    rng = np.random.default_rng(1)
    for query in unit_vectors(rng, 5):
        cosines = library.vectors @ query
        assert_same_ranking(library.embedded.semantic(query, K), retriever.semantic(query, K), cosines)
        for articles in (("article-05",), ("article-02", "article-11", "article-23")):
            scope = SearchScope(articles, library.chunks_of(*articles))
            got = retriever.semantic(query, K, scope)
            assert_same_ranking(library.embedded.semantic(query, K, scope), got, cosines)
            assert {library.article_ids[c] for c, _ in got} <= set(articles)


def test_scoped_search_returns_every_qualifying_chunk(retriever: MilvusRetriever, library: Library) -> None:
    """Asked for more than an article holds, a scoped search returns all of it: the filter is exact."""
    scope = SearchScope(("article-04",), library.chunks_of("article-04"))
    query = unit_vectors(np.random.default_rng(2), 1)[0]
    got = retriever.semantic(query, 100, scope)
    assert sorted(c for c, _ in got) == scope.chunks.tolist()  # all 25 chunks
    tokens = ["w1", "w2", "w3"]
    matching = np.flatnonzero(library.bm25.scores_for(tokens, scope.chunks) > 0)
    assert len(retriever.lexical(tokens, 100, scope)) == len(matching) > K
    assert len(retriever.lexical(tokens, K, scope)) == K


def test_nothing_to_search(retriever: MilvusRetriever) -> None:
    assert retriever.lexical([], K) == []
    assert retriever.lexical(["not-a-term"], K) == []
    empty = SearchScope((), np.zeros(0, np.int64))
    assert retriever.semantic(np.ones(32, np.float32) / np.sqrt(32), K, empty) == []


def test_missing_collection_is_an_index_problem(backend: MilvusBackend, library: Library) -> None:
    missing = MilvusRetriever(backend, "no_such_collection", Vocabulary(library.bm25))
    with pytest.raises(IndexProblem, match="no_such_collection"):
        missing.semantic(library.vectors[0], K)
    with pytest.raises(IndexProblem, match="exists"):
        backend.write_collection("library_v1", library.rows)


def test_upsert_and_delete_article(backend: MilvusBackend, library: Library) -> None:
    backend.write_collection("edits_v1", library.rows)
    retriever = MilvusRetriever(backend, "edits_v1", Vocabulary(library.bm25))
    article = "article-06"
    old = library.rows.of_article(article)
    # The article changed: its last chunk is gone and the others have new vectors.
    kept = len(old) - 1
    new_vectors = unit_vectors(np.random.default_rng(3), kept)
    changed = ChunkRows(old.chunk_ids[:kept], old.article_ids[:kept], new_vectors, old.sparse.take(np.arange(kept)))
    backend.upsert_article("edits_v1", changed)

    assert backend.article_chunks("edits_v1", article) == changed.chunk_ids.tolist()
    top = retriever.semantic(new_vectors[0], 1)
    assert top[0][0] == int(changed.chunk_ids[0])
    assert top[0][1] == pytest.approx(1.0, abs=1e-5)
    scope = SearchScope((article,), old.chunk_ids)
    assert int(old.chunk_ids[-1]) not in [c for c, _ in retriever.semantic(new_vectors[0], 100, scope)]

    backend.delete_article("edits_v1", article)
    assert backend.article_chunks("edits_v1", article) == []
    assert backend.count("edits_v1") == len(library.rows) - len(old)
    assert retriever.semantic(new_vectors[0], 100, scope) == []
    gone = set(old.chunk_ids.tolist())
    for tokens in QUERIES:
        assert not gone & {c for c, _ in retriever.lexical(tokens, 200)}


def test_alias_switch_under_load(engine: MilvusLiteEngine, backend: MilvusBackend, library: Library) -> None:
    """Queries through the alias from another client keep succeeding while it is pointed at a new build
    and the old build is dropped; each answer comes wholly from one build or the other."""
    offset = 1_000_000  # the second build's chunk ids, so an answer shows which build gave it
    second = build_rows(library.bm25, library.vectors, library.article_ids)
    second = ChunkRows(second.chunk_ids + offset, second.article_ids, second.vectors, second.sparse)
    backend.write_collection("switch_v1", library.rows)
    backend.write_collection("switch_v2", second)
    backend.point_alias("live", "switch_v1")
    assert backend.aliases()["live"] == "switch_v1"

    assert engine.running is not None
    reader_backend = MilvusBackend(engine.running.uri, dataclasses.replace(MilvusSettings.lite(), alias_ttl=0.05))
    reader = MilvusRetriever(reader_backend, "live", Vocabulary(library.bm25))
    query = library.vectors[10]
    seen: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                for ranking in (reader.semantic(query, K), reader.lexical(["w2", "w9"], K)):
                    builds = {"v2" if c >= offset else "v1" for c, _ in ranking}
                    assert len(builds) == 1 and len(ranking) == K, ranking
                    seen.append(builds.pop())
            except BaseException as error:
                errors.append(error)
                return

    def answered(build: str) -> None:
        """Wait (up to 30 s: a loaded CI machine) until the reader got an answer from `build`, so the
        switch happens under load, whatever the engine's speed."""
        deadline = time.monotonic() + 30
        while build not in seen and not errors and time.monotonic() < deadline:
            time.sleep(0.01)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        answered("v1")
        backend.point_alias("live", "switch_v2")
        answered("v2")
        assert backend.drop_unaliased("switch_") == ["switch_v1"]
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(10)
        reader_backend.close()
    assert not errors, errors
    assert "v1" in seen and seen[-1] == "v2"
    assert seen == sorted(seen)  # never back to the old build once the new one answered
    assert "switch_v1" not in backend.collections()
    with pytest.raises(IndexProblem, match="alias live"):
        backend.drop_collection("switch_v2")


def test_engine_down_then_back(engine: MilvusLiteEngine, retriever: MilvusRetriever, library: Library) -> None:
    tokens: Sequence[str] = ["w3", "w17"]
    before = retriever.lexical(tokens, K)
    engine.stop()
    try:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match=retriever.backend.uri) as raised:
            retriever.lexical(tokens, K)
        assert time.monotonic() - started < retriever.backend.settings.timeout + 1
        assert "Traceback" not in str(raised.value) and "_InactiveRpcError" not in str(raised.value)
        with pytest.raises(BackendUnavailable):
            retriever.semantic(library.vectors[0], K)
    finally:
        engine.start()  # same data directory and port
    assert retriever.lexical(tokens, K) == before
    assert retriever.semantic(library.vectors[0], 1)[0][0] == 0
