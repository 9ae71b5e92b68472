"""embed/batches.length_batches: the batches every encoder runs, as each of them composed them before."""

from __future__ import annotations

import random

from followup.embed.encoder import length_batches


def test_batches_of_similar_length_in_a_stable_order() -> None:
    texts = ["ccc", "a", "bb", "dd", "e", "ffff"]
    assert length_batches(texts, 2) == [[1, 4], [2, 3], [0, 5]]
    assert length_batches(texts, 4, longest_first=True) == [[5, 0, 2, 3], [1, 4]]
    assert length_batches([], 8) == []


def test_longest_first_is_the_order_of_a_sort_by_negative_length() -> None:
    """The torch encoder sorted by -len: ties keep their order either way, so its batches are unchanged."""
    texts = ["x" * random.Random(n).randrange(6) for n in range(50)]
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    assert length_batches(texts, 8, longest_first=True) == [order[b : b + 8] for b in range(0, len(order), 8)]
