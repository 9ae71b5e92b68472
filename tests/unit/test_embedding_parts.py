"""A build's new chunks embedded and written a part at a time, without the model: the parts hold what one
job over every chunk holds, progress counts the whole job, and each part becomes a segment of its own."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import numpy as np

from followup.embed.chunk_embeddings import ChunkText, embed_chunks, embed_in_parts
from followup.embed.encoder import ModelPasses
from followup.embed.token_vectors import TokenEmbedding
from followup.index.incremental import place_embeddings
from followup.index.segments import Segment

DIMENSION = 8


class HashedWords:
    """Stands in for the model: a text's vector and token vectors follow from its words alone, whatever
    batch it is in."""

    dimension, chunk_batch, sentence_batch = DIMENSION, 2, 3

    @staticmethod
    def _word(word: str) -> np.ndarray:
        return np.random.default_rng(zlib.crc32(word.encode())).normal(size=DIMENSION).astype(np.float32)

    def encode(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        return np.stack([np.mean([self._word(w) for w in t.split()], axis=0) for t in texts])

    def encode_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenEmbedding]]:
        tokens = [np.stack([self._word(w) for w in t.split()]) for t in texts]
        return self.encode(texts), [TokenEmbedding(t, np.zeros((len(t), 2), np.int32)) for t in tokens]


def chunk_text(n: int) -> ChunkText:
    context, first, second = f"Article {n}", f"Statins lower cholesterol {n}.", f"Muscle pain came {n % 3}."
    text = f"{context}\n{first} {second}"
    head = len(context) + 1
    spans = np.array([[head, head + len(first)], [head + len(first) + 1, len(text)]], dtype=np.int32)
    return ChunkText(text, head, spans)


def test_parts_hold_what_one_job_holds_and_progress_counts_the_whole_job() -> None:
    texts = [chunk_text(n) for n in range(5)]
    sizes: list[int] = []
    seen: list[tuple[int, int]] = []

    def encoders_for(texts_in_job: int) -> list[ModelPasses]:
        sizes.append(texts_in_job)
        return [cast(ModelPasses, HashedWords())]

    parts = list(embed_in_parts(texts, encoders_for, lambda done, total: seen.append((done, total)), part_chunks=2))
    assert [len(part) for part, _ in parts] == [2, 2, 1]
    assert [t for part, _ in parts for t in part] == texts
    whole = embed_chunks(texts, lambda _: [cast(ModelPasses, HashedWords())])
    for mine, theirs in zip([e for _, part in parts for e in part], whole, strict=True):
        assert np.array_equal(mine.vector, theirs.vector) and np.array_equal(mine.sentences, theirs.sentences)
        assert np.array_equal(mine.tokens.values, theirs.tokens.values)
    # One set of encoders for the job, sized by all its texts: 5 chunk texts and 4 short texts a chunk
    # (two sentences, each alone and in context). A short text is embedded once a part: "Muscle pain came
    # 0." and "... 1." repeat in other parts, so the parts embed 25 texts where one job embeds 23.
    assert len(sizes) == 1 and seen[-1] == (sizes[0], sizes[0]) == (5 + 5 * 4, 25)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert list(embed_in_parts([], encoders_for)) == [] and len(sizes) == 1, "nothing to embed: no encoders"


def test_each_part_is_written_as_a_segment_and_each_chunk_points_at_its_row(tmp_path: Path) -> None:
    texts = [chunk_text(n) for n in range(5)]
    parts = embed_in_parts(texts, lambda _: [cast(ModelPasses, HashedWords())], part_chunks=2)
    keys = [t.key for t in texts]
    names, refs, known = place_embeddings(tmp_path, None, keys, parts)
    assert names == ["segment-000001", "segment-000002", "segment-000003"] and known == {}
    assert refs.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]]
    whole = embed_chunks(texts, lambda _: [cast(ModelPasses, HashedWords())])
    segments = [Segment(tmp_path, name) for name in names]
    for chunk, (s, row) in enumerate(refs.tolist()):
        assert bytes(segments[s].keys[row]) == keys[chunk]
        assert np.array_equal(segments[s].vectors[row], whole[chunk].vector)
        assert np.array_equal(segments[s].sentences(row), whole[chunk].sentences)
