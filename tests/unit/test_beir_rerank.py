"""The late-interaction rerank of BEIR runs without the model: the blend by hand, a document's MaxSim
over its chunks, the token cache, and the BEIR loop with a stand-in token encoder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pytest

from followup.core.settings import ChunkingParams
from followup.embed.token_vectors import PACKED_ARRAYS, TokenEmbedding, quantise
from followup.evaluate.beir_data import load_beir
from followup.evaluate.beir_eval import (
    BEIR_MODES,
    LATE_INTERACTION,
    BenchmarkEncoders,
    blend_rerank,
    document_maxsim,
    evaluate_beir,
    late_scores,
)
from followup.evaluate.token_cache import TokenCache, cached_tokens
from tests.unit.test_evaluation import BagOfWordsEncoder, word_tokens, write_beir

if TYPE_CHECKING:
    from followup.embed.torch_encoder import Encoder


def fused_ranking(n: int) -> list[tuple[int, float]]:
    """Documents 0..n-1 in that order, fused scores 1.0, 0.96, 0.92, ..."""
    return [(i, 1.0 - 0.04 * i) for i in range(n)]


def test_best_maxsim_moves_up_within_the_top_20_and_the_rest_keep_their_order() -> None:
    tail = [(90, 0.2), (60, 0.19), (80, 0.18), (70, 0.17), (50, 0.16)]  # ids out of order on purpose
    ranking = fused_ranking(20) + tail
    late = [0.3] * 20
    late[15], late[0] = 0.9, 0.5  # minmax: document 15 -> 1, document 0 -> 1/3, the others 0
    # weight 0.5: document 0 at 0.5/3 + 0.5 = 0.667, document 15 at 0.5 + 0.5 * 4/19 = 0.605,
    # document 1 at 0.5 * 18/19 = 0.474: 15 jumps from 16th to 2nd.
    reranked = [i for i, _ in blend_rerank(ranking, late, 0.5)]
    assert reranked == [0, 15, *range(1, 15), *range(16, 20), 90, 60, 80, 70, 50]
    assert [i for i, _ in blend_rerank(ranking, late, 1.0)][:2] == [15, 0]
    hybrid = blend_rerank(ranking, late, 0.0)[:20]
    assert [i for i, _ in hybrid] == list(range(20)), "weight 0 is the hybrid order"
    assert [s for _, s in hybrid] == pytest.approx([(19 - i) / 19 for i in range(20)])
    scores = dict(blend_rerank(ranking, late, 0.5))
    assert scores[0] == pytest.approx(0.5 / 3 + 0.5) and scores[15] == pytest.approx(0.5 + 0.5 * 4 / 19)
    assert blend_rerank(ranking, late, 0.5)[20:] == ranking[20:], "past the top 20: order and scores kept"


def test_blend_with_fewer_than_20_documents_and_constant_scores() -> None:
    ranking = fused_ranking(3)
    # minmax over the 3: late 0, 1/8, 1 and fused 1, 1/2, 0; at 0.75 that is 0.25, 0.219, 0.75
    assert [i for i, _ in blend_rerank(ranking, [0.1, 0.2, 0.9], 0.75)] == [2, 0, 1]
    assert [i for i, _ in blend_rerank(ranking, [0.4, 0.4, 0.4], 1.0)] == [0, 1, 2], "ties keep the fused order"
    assert blend_rerank([], [], 0.5) == []
    with pytest.raises(ValueError, match="2 late-interaction scores for 3 documents"):
        blend_rerank(ranking, [0.1, 0.2], 0.5)


def test_a_document_scores_as_its_best_chunk() -> None:
    e0, e1 = np.eye(4, dtype=np.float32)[:2]
    query = np.stack([e0, e1])
    tokens = [quantise(np.stack([e0])), quantise(np.stack([e0, e1])), quantise(np.zeros((0, 4), np.float32))]
    assert document_maxsim(query, np.array([0]), tokens) == pytest.approx(0.5)  # e1 finds nothing like it
    assert document_maxsim(query, np.array([0, 1]), tokens) == pytest.approx(1.0)
    assert document_maxsim(query, np.array([2]), tokens) == 0.0
    assert document_maxsim(query, np.array([], dtype=np.int64), tokens) == 0.0


def test_late_scores_in_one_product_equal_maxsim_chunk_by_chunk() -> None:
    rng = np.random.default_rng(7)

    def unit(rows: int) -> np.ndarray:
        vectors = rng.normal(size=(rows, 16)).astype(np.float32)
        return np.asarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))

    tokens = [quantise(unit(n)) for n in (5, 0, 9, 1, 12, 3)]
    document_chunks = [np.array([0, 2]), np.array([1]), np.array([], dtype=np.int64), np.array([3, 4, 5])]
    query = unit(4)
    documents = [3, 0, 2, 1]
    expected = [document_maxsim(query, document_chunks[d], tokens) for d in documents]
    assert late_scores(query, documents, document_chunks, tokens).tolist() == pytest.approx(expected, abs=1e-6)
    assert expected[2] == expected[3] == 0.0 and expected[0] != expected[1]
    assert late_scores(query[:0], documents, document_chunks, tokens).tolist() == [0.0] * 4


def embedding(rows: int, seed: int) -> TokenEmbedding:
    vectors = np.random.default_rng(seed).normal(size=(rows, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return TokenEmbedding(vectors, np.zeros((rows, 2), np.int32))


def test_token_cache_round_trip_by_content_and_key(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path, "bench", "k1")
    cache.add(["a", "b"], [embedding(3, 1), embedding(0, 2)])
    cache.save()
    cache.add(["c"], [embedding(2, 3)])  # a later run adds to what is stored
    cache.save()
    again = TokenCache(tmp_path, "bench", "k1")
    assert len(again) == 3 and again.missing(["c", "d", "a", "d"]) == ["d"]
    values, scales = again.get("a")
    expected, expected_scales = quantise(embedding(3, 1).vectors)
    assert np.array_equal(values, expected) and np.allclose(scales, expected_scales)
    assert again.get("b")[0].shape == (0, 8) and again.get("c")[0].shape == (2, 8)
    with np.load(again.path) as stored:
        assert stored.files == ["keys", *PACKED_ARRAYS], "the token vectors as a build's segments lay them out"
    assert TokenCache(tmp_path, "bench", "k2").missing(["a"]) == ["a"], "another model: nothing reused"
    assert not list(tmp_path.glob("*.partial")), "no temporary file left"
    again.path.write_bytes(b"not a zip file")
    assert TokenCache(tmp_path, "bench", "k1").missing(["a"]) == ["a"], "a damaged file is ignored"


class BagOfWordsTokens:
    """Stands in for the bulk token encoder: one one-hot vector per known word, in order."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def encode_tokens(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> list[TokenEmbedding]:
        self.embedded += texts
        if progress:
            progress(len(texts), len(texts))
        return [word_tokens(t) for t in texts]


def test_beir_loop_reranks_and_caches_the_chunk_tokens(tmp_path: Path) -> None:
    dataset = load_beir(write_beir(tmp_path / "mini"), "test")
    tokens, encoder = BagOfWordsTokens(), BagOfWordsEncoder()
    with_tokens = BenchmarkEncoders(encoder.encode, encoder, tokens.encode_tokens)
    args = (dataset, with_tokens, ChunkingParams(), tmp_path / "cache")
    results = evaluate_beir(*args)
    assert list(results) == [*BEIR_MODES, LATE_INTERACTION]
    assert results[LATE_INTERACTION].metrics["RR@10"] == pytest.approx(1.0)
    assert set(results[LATE_INTERACTION].added_latency_ms) == {"p50", "p95", "query_pass_p50", "scoring_p50"}
    assert not results["hybrid-minmax"].added_latency_ms
    assert len(tokens.embedded) == len(set(tokens.embedded)) == 4, "each chunk's text once"
    assert list((tmp_path / "cache").glob("mini-w*-tokens-*.npz"))
    embedded = len(tokens.embedded)
    evaluate_beir(*args)
    assert len(tokens.embedded) == embedded, "the chunk tokens came from the cache"
    without = (dataset, encoder.encoders(), ChunkingParams(), tmp_path / "cache")
    assert set(evaluate_beir(*without)) == set(BEIR_MODES), "no token encoder: the four modes only"
    with pytest.raises(ValueError, match="needs the chunks' token vectors"):
        evaluate_beir(*without, modes=[LATE_INTERACTION])


def test_cached_tokens_embeds_only_what_is_missing(tmp_path: Path) -> None:
    tokens = BagOfWordsTokens()
    cached_tokens(["fish", "coffee"], tokens.encode_tokens, tmp_path, "x", "k")
    cached_tokens(["coffee", "diet", "fish"], tokens.encode_tokens, tmp_path, "x", "k")
    assert tokens.embedded == ["fish", "coffee", "diet"]


def test_the_question_model_is_found_in_the_index_then_in_the_cache(tmp_path: Path) -> None:
    from followup.embed.cpu import int8_dot_products
    from followup.embed.encoder import model_key
    from followup.evaluate.run import query_model_path
    from followup.index.layout import QUESTION_MODEL_FILE, QUESTION_MODEL_FP32_FILE

    (tmp_path / "cache").mkdir()
    for file in (QUESTION_MODEL_FILE, QUESTION_MODEL_FP32_FILE):
        (tmp_path / "cache" / f"{model_key()}-{file}").write_bytes(b"cached export")
    name = f"{model_key()}-{QUESTION_MODEL_FILE if int8_dot_products() else QUESTION_MODEL_FP32_FILE}"
    encoder = cast("Encoder", None)  # only an export would need the model
    assert query_model_path(tmp_path / "index", tmp_path / "cache", encoder, []) == tmp_path / "cache" / name
    (tmp_path / "index" / "embeddings").mkdir(parents=True)
    (tmp_path / "index" / "embeddings" / name).write_bytes(b"the index build's export")
    expected = tmp_path / "index" / "embeddings" / name
    assert query_model_path(tmp_path / "index", tmp_path / "cache", encoder, []) == expected
