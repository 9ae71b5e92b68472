"""The answer score by hand: MaxSim, quantisation, the token rows a passage is scored against."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from followup.answer.candidates import maxsim, maxsims
from followup.core.types import Chunk, Sentence
from followup.embed.token_vectors import (
    PACKED_ARRAYS,
    ChunkEmbedding,
    PackedTokens,
    QuantisedTokens,
    TokenEmbedding,
    dequantise,
    passage_rows,
    quantise,
)
from followup.index.segments import CHUNK_EMBEDDINGS_FILE, ChunkEmbeddings, write_segment


def _unit(*rows: list[float]) -> np.ndarray:
    matrix = np.array(rows, dtype=np.float32)
    return np.asarray(matrix / np.linalg.norm(matrix, axis=1, keepdims=True))


def test_maxsim_averages_each_query_tokens_best_match() -> None:
    query = _unit([1, 0], [0, 1])
    passage = _unit([1, 0], [1, 1])
    # token 1 matches [1, 0] exactly (1.0); token 2 best matches [1, 1] (cos 45 degrees)
    assert maxsim(query, passage) == pytest.approx((1.0 + np.sqrt(0.5)) / 2)
    assert maxsim(query, np.zeros((0, 2), np.float32)) == 0.0


def test_int8_quantisation_keeps_cosines() -> None:
    vectors = _unit(*np.random.default_rng(0).normal(size=(50, 384)).tolist())
    values, scales = quantise(vectors)
    assert values.dtype == np.int8
    assert np.min(np.sum(dequantise(values, scales) * vectors, axis=1)) > 0.999


def test_packed_tokens_lay_texts_end_to_end_and_read_back_by_name() -> None:
    texts = [quantise(_unit(*np.random.default_rng(n).normal(size=(rows, 4)).tolist())) for n, rows in [(1, 3), (2, 1)]]
    texts.insert(1, (np.zeros((0, 4), np.int8), np.zeros(0, np.float32)))  # a text without tokens
    packed = PackedTokens.packed(texts, 4)
    assert packed.rows.tolist() == [0, 3, 3, 4] and packed.agrees() and len(packed) == 3
    assert packed.counts().tolist() == [3, 0, 1]
    again = PackedTokens.named(packed.by_name())
    assert list(packed.by_name()) == list(PACKED_ARRAYS)
    for i, (values, scales) in enumerate(texts):
        assert np.array_equal(again.text(i)[0], values) and np.array_equal(again.text(i)[1], scales)
    assert not PackedTokens(packed.rows, packed.values[:2], packed.scales).agrees()
    assert PackedTokens.packed([], 4).values.shape == (0, 4)


def test_a_passage_is_scored_against_the_context_and_its_own_tokens_only() -> None:
    spans = np.array([[-1, -1], [-1, -1], [10, 14], [15, 20], [21, 30]], dtype=np.int32)
    assert passage_rows(spans, 15, 30).tolist() == [0, 1, 3, 4]
    assert passage_rows(spans, 10, 14).tolist() == [0, 1, 2]


def test_chunk_tokens_round_trip_with_spans_moved_to_the_document(tmp_path: Path) -> None:
    chunk = Chunk(0, "a", "a", 100, 112, ("S",), (Sentence(100, 106, (1,)), Sentence(107, 112, (1,))), "T > S")
    # the indexed text: context, newline, the chunk's own 12 characters
    vectors = _unit([1, 0, 0], [0, 1, 0], [0, 0, 1])
    tokens = TokenEmbedding(vectors, np.array([[0, 1], [6, 11], [13, 17]], dtype=np.int32))
    embedding = ChunkEmbedding(vectors[0], vectors[1:], QuantisedTokens.of(tokens))
    write_segment(tmp_path, "segment-000001", [bytes(32)], [embedding])
    np.save(tmp_path / CHUNK_EMBEDDINGS_FILE, np.array([[0, 0]], dtype=np.int32))
    stored = ChunkEmbeddings(tmp_path, ["segment-000001"])
    # "First." is document offsets 100-106: the context token and the first sentence's token
    assert np.allclose(stored.passage_tokens(chunk, 100, 106), vectors[[0, 1]], atol=1e-2)
    assert np.allclose(stored.passage_tokens(chunk, 107, 112), vectors[[0, 2]], atol=1e-2)
    assert np.array_equal(stored.sentences(0), vectors[1:]) and np.array_equal(stored.vector(0), vectors[0])


def test_scores_of_many_passages_at_once_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(1)
    query = _unit(*rng.normal(size=(5, 8)).tolist())
    passages = [_unit(*rng.normal(size=(n, 8)).tolist()) for n in (3, 1, 7)]
    passages.insert(1, np.zeros((0, 8), np.float32))
    assert maxsims(query, passages) == pytest.approx([maxsim(query, p) for p in passages])
    assert maxsims(query, []) == []
