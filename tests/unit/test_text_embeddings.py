from __future__ import annotations

from pathlib import Path

import numpy as np

from followup.text_embeddings import TextEmbeddingStore


def vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 4), dtype=np.float32)


def test_only_unseen_texts_are_missing_and_lookups_keep_order(tmp_path: Path) -> None:
    store = TextEmbeddingStore(tmp_path, "m")
    assert store.missing(["a", "b", "a"]) == ["a", "b"]
    first = vectors(2)
    store.add(["a", "b"], first)
    assert store.missing(["b", "c", "a"]) == ["c"]
    np.testing.assert_array_equal(store.lookup(["b", "a", "b"]), first[[1, 0, 1]])


def test_saved_vectors_come_back_and_unused_ones_are_dropped(tmp_path: Path) -> None:
    store = TextEmbeddingStore(tmp_path, "m")
    texts = [f"sentence {i}" for i in range(300)]  # some digests end in zero bytes; all must round-trip
    values = vectors(300)
    store.add(texts, values)
    store.save(keep=texts[:250])
    again = TextEmbeddingStore(tmp_path, "m")
    assert len(again) == 250
    assert again.missing(texts) == texts[250:]
    np.testing.assert_array_equal(again.lookup(texts[:250]), values[:250])
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_another_model_version_starts_empty(tmp_path: Path) -> None:
    store = TextEmbeddingStore(tmp_path, "m")
    store.add(["a"], vectors(1))
    store.save(keep=["a"])
    assert len(TextEmbeddingStore(tmp_path, "other")) == 0


def test_a_damaged_store_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "m.npz").write_bytes(b"not an archive")
    store = TextEmbeddingStore(tmp_path, "m")
    assert len(store) == 0 and store.missing(["a"]) == ["a"]
