"""The embedding job on Ray Data gives what the in-process job gives, on a real 2-node cluster."""

from __future__ import annotations

import importlib.util
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from followup.embed.chunk_embeddings import ChunkText, embed_chunks, embed_in_parts
from followup.embed.encoder import OnnxQueryEncoder
from followup.embed.ray_job import RayUnavailable, embed_chunks_on_ray, embed_parts_on_ray
from followup.embed.token_vectors import ChunkEmbedding

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed: pip install -e '.[ray]'"
)

# Raised inside Ray Data's own DataContext on first use; nothing of ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


def in_process(texts: Sequence[ChunkText], model: Path) -> list[ChunkEmbedding]:
    return embed_chunks(texts, lambda n: [OnnxQueryEncoder(model, threads=1)])


def assert_same(expected: Sequence[ChunkEmbedding], actual: Sequence[ChunkEmbedding]) -> None:
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual, strict=True):
        assert isinstance(got, ChunkEmbedding)
        # The same batches on the same encoder: equal; 1e-6 is the bound the build relies on.
        np.testing.assert_allclose(got.vector, want.vector, rtol=0, atol=1e-6)
        np.testing.assert_allclose(got.sentences, want.sentences, rtol=0, atol=1e-6)
        assert got.vector.dtype == np.float32 and got.sentences.dtype == np.float32
        np.testing.assert_array_equal(got.tokens.values, want.tokens.values)
        np.testing.assert_array_equal(got.tokens.scales, want.tokens.scales)
        np.testing.assert_array_equal(got.tokens.spans, want.tokens.spans)
        assert got.tokens.values.dtype == np.int8 and got.tokens.spans.dtype == np.int32


@needs_ray
@pytest.mark.model
def test_vectors_equal_the_in_process_job(ray_cluster: str, onnx_model: Path, chunk_texts: list[ChunkText]) -> None:
    seen: list[tuple[int, int]] = []
    got = embed_chunks_on_ray(chunk_texts, onnx_model, address=ray_cluster, progress=lambda d, n: seen.append((d, n)))
    expected = in_process(chunk_texts, onnx_model)
    assert_same(expected, got)
    assert all(np.array_equal(a.vector, b.vector) for a, b in zip(expected, got, strict=True))  # exactly
    assert len(seen) > 2 and seen[-1][0] == seen[-1][1]  # batch by batch, up to every text
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@needs_ray
@pytest.mark.model
def test_parts_equal_the_in_process_parts(ray_cluster: str, onnx_model: Path, chunk_texts: list[ChunkText]) -> None:
    """Parts of 3 chunks: each part's batches as the in-process job composes them, every part through one
    actor pool, the parts yielded in order."""
    seen: list[tuple[int, int]] = []
    on_ray = list(embed_parts_on_ray(chunk_texts[:8], onnx_model, address=ray_cluster, part_chunks=3,
                                     progress=lambda d, n: seen.append((d, n))))  # fmt: skip
    here = list(embed_in_parts(chunk_texts[:8], lambda n: [OnnxQueryEncoder(onnx_model, threads=1)], part_chunks=3))
    assert [list(texts) for texts, _ in on_ray] == [list(texts) for texts, _ in here] == [
        chunk_texts[0:3], chunk_texts[3:6], chunk_texts[6:8]]  # fmt: skip
    for (_, got), (_, expected) in zip(on_ray, here, strict=True):
        assert_same(expected, got)
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)


@needs_ray
@pytest.mark.model
def test_order_kept_with_duplicate_texts(ray_cluster: str, onnx_model: Path, chunk_texts: list[ChunkText]) -> None:
    texts = [chunk_texts[7], *chunk_texts[:6], chunk_texts[3], chunk_texts[7], chunk_texts[0]]
    got = embed_chunks_on_ray(texts, onnx_model, address=ray_cluster)
    assert_same(in_process(texts, onnx_model), got)
    assert np.array_equal(got[0].vector, got[8].vector) and np.array_equal(got[4].vector, got[7].vector)


def test_empty_input_needs_no_cluster(tmp_path: Path) -> None:
    assert embed_chunks_on_ray([], tmp_path / "absent.onnx", address="127.0.0.1:1") == []


@needs_ray
def test_unreachable_address_fails_quickly(chunk_texts: list[ChunkText], tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(RayUnavailable, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        embed_chunks_on_ray(chunk_texts[:2], tmp_path / "model.onnx", address=f"127.0.0.1:{port}")
    assert time.monotonic() - started < 10


def test_missing_ray_is_a_clear_error(
    chunk_texts: list[ChunkText], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees without the extra
    with pytest.raises(RayUnavailable, match=r"pip install 'followup\[ray\]'"):
        embed_chunks_on_ray(chunk_texts[:2], tmp_path / "model.onnx")
