from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from followup.core.settings import ChunkingParams
from followup.core.words import tokenize
from followup.index.bm25 import BM25Index
from followup.ingest.chunking import chunk_documents, indexed_text
from followup.ingest.corpus import load_corpus


def assert_same_as_rank_bm25(corpus: Sequence[Sequence[str]], queries: Sequence[Sequence[str]]) -> None:
    reference = BM25Okapi([list(tokens) for tokens in corpus])
    index = BM25Index(corpus)
    for query in queries:
        got = index.scores(query)
        assert got.dtype == np.float32
        assert got.shape == (len(corpus),)
        np.testing.assert_allclose(got, reference.get_scores(list(query)), rtol=1e-5, err_msg=str(query))


def zipf_corpus(seed: int, n_docs: int = 300, n_terms: int = 60) -> list[list[str]]:
    # A small Zipf-like vocabulary: the top terms occur in most documents, so their idf is negative and
    # gets the epsilon floor.
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_terms + 1)
    ids = rng.choice(n_terms, size=(n_docs, 40), p=weights / weights.sum())
    lengths = rng.integers(0, 40, size=n_docs)
    return [[f"t{i}" for i in row[:n]] for row, n in zip(ids, lengths, strict=True)]


def test_random_corpus_matches_rank_bm25() -> None:
    corpus = zipf_corpus(seed=7)
    reference = BM25Okapi(corpus)
    assert reference.idf["t0"] == reference.epsilon * reference.average_idf  # the floor is exercised
    assert [] in corpus
    rng = np.random.default_rng(8)
    queries = [[f"t{i}" for i in rng.integers(0, 60, size=rng.integers(1, 6))] for _ in range(30)]
    assert_same_as_rank_bm25(corpus, queries)


def test_repeated_unknown_and_empty_queries_match_rank_bm25() -> None:
    queries = [["t0", "t0"], ["t3", "t0", "t3", "t3"], ["unknown"], ["unknown", "t5", "unknown"], []]
    assert_same_as_rank_bm25(zipf_corpus(seed=11), queries)


def test_repeated_term_counts_once_per_occurrence() -> None:
    index = BM25Index(zipf_corpus(seed=3))
    np.testing.assert_allclose(index.scores(["t4", "t4", "t4"]), 3 * index.scores(["t4"]), rtol=1e-6)
    assert not index.scores(["unknown"]).any()
    assert not index.scores([]).any()


@pytest.mark.parametrize(
    "corpus",
    [
        [["muscle", "spasm", "muscle"]],
        [["muscle", "spasm"], ["spasm", "cramp"]],
        [["muscle", "spasm"], [], ["spasm", "cramp", "cramp"], ["baclofen"]],
    ],
    ids=["one-document", "two-documents", "with-empty-document"],
)
def test_tiny_corpora_match_rank_bm25(corpus: list[list[str]]) -> None:
    # rank-bm25 is not 0 everywhere here: a term in every document gets epsilon * average idf, which is
    # negative when the average idf is.
    queries = [["muscle"], ["spasm", "spasm"], ["cramp", "muscle"], ["baclofen"], ["unknown"], []]
    assert_same_as_rank_bm25(corpus, queries)


def test_corpora_rank_bm25_cannot_index_score_zero() -> None:
    # rank-bm25 divides by zero on these; an index of them has nothing to match.
    assert BM25Index([]).scores(["spasm"]).shape == (0,)
    assert not BM25Index([[], []]).scores(["spasm"]).any()


def test_project_corpus_matches_rank_bm25(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    texts = {d.id: d.text for d in corpus.documents}
    tokens = [tokenize(indexed_text(c, texts[c.doc_id])) for c in chunk_documents(corpus.documents, ChunkingParams())]
    questions = [
        "What dose of baclofen?",
        "What are the causes of muscle spasms?",
        "Is magnesium effective for night-time leg cramps?",
        "How is a muscle spasm treated?",
        "Can statins cause muscle cramps?",
        "What about hypokalaemia and hypocalcaemia?",
        "Which drugs can induce cramps?",
        "When should I see a doctor about muscle spasms?",
        "Does stretching help?",
        "What is the evidence for quinine?",
    ]
    queries = [tokenize(q) for q in questions]
    assert_same_as_rank_bm25(tokens, queries)
    assert all(BM25Index(tokens).scores(q).any() for q in queries)


def test_vocabulary_is_every_corpus_token() -> None:
    corpus = [["muscle", "spasm"], [], ["spasm", "cramp", "cramp"]]
    assert BM25Index(corpus).vocabulary == frozenset({"muscle", "spasm", "cramp"})
    assert BM25Index([]).vocabulary == frozenset()


def test_scores_for_rows_equal_the_full_scores_at_those_rows() -> None:
    corpus = zipf_corpus(seed=21, n_docs=500)
    index = BM25Index(corpus)
    rng = np.random.default_rng(22)
    for size in (0, 1, 7, 120, 500):
        rows = np.sort(rng.choice(len(corpus), size=size, replace=False)).astype(np.int64)
        for query in (["t0", "t3", "t0"], ["t59"], ["unknown", "t1"], []):
            got = index.scores_for(query, rows)
            assert got.dtype == np.float32 and got.shape == (size,)
            assert np.array_equal(got, index.scores(query)[rows]), (size, query)  # the same floats, not close
