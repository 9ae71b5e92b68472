"""Everything the index keeps of a chunk's embeddings, and the bulk job that makes them.

One pass over a chunk's indexed text ("context\ntext") gives its dense vector (every token
mean-pooled, as sentence-transformers pools) and the token vectors of the answer score; before, the
token vectors took a pass of their own. A sentence's vector is the mean of its embedding alone and
with its chunk's context ("context\nsentence"), as before: pooling the sentence's tokens out of the
chunk's pass instead kept the dev splits but lost answers on the own suite's test half (the
regression gate: hit@3 -0.03, abstention F1 -0.05), so the two short passes stay. A text is embedded
once however often it occurs: a one-sentence chunk's sentence in context is the chunk itself.

A large job runs on torch (embed/bulk_encoder.py: bfloat16 where the CPU has it, 3.3x onnxruntime's chunk
rate here); a small one, such as one article changed, on onnxruntime, one single-threaded session
per core (45 chunks/s against 31 for one session on two threads), since importing torch takes 5.6 s.
bench/scale.py measures the whole build.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from followup.embed.encoder import length_batches
from followup.embed.token_vectors import ChunkEmbedding, QuantisedTokens

if TYPE_CHECKING:
    from followup.embed.encoder import ModelPasses
    from followup.embed.torch_encoder import Encoder

TEXTS_PER_WORKER = 500  # an onnxruntime session takes ~0.3 s to start: a small job runs on one
# Texts from which torch's 5.6 s import pays: onnxruntime takes 7.4 ms a text on the MedQuAD library's
# mix (one chunk text to five short ones), torch 2.3 ms in bfloat16.
TORCH_FROM_TEXTS = 1100
# Chunks embedded, then written as a segment of their own before the next are embedded: what a job
# holds at once. The MedQuAD library's 50,532 chunks held whole peaked at 9.8 GB; its token vectors
# alone are 1.9 GB as stored, 38 kB a chunk. A short text is embedded once a part, not once a job:
# 1.2% more of them on that library (272,708 against 269,603).
PART_CHUNKS = 4_096


@dataclass(frozen=True)
class ChunkText:
    """A chunk's indexed text ("context\ntext"), where its own text starts, and its sentences' spans."""

    text: str
    head: int  # len("context\n")
    sentence_spans: np.ndarray  # (sentences, 2) int32, in `text`

    @property
    def key(self) -> bytes:
        """What the embedding depends on: the text, where the context ends and where its sentences are."""
        digest = hashlib.sha256(self.text.encode())
        digest.update(self.head.to_bytes(8, "little"))
        digest.update(np.ascontiguousarray(self.sentence_spans, dtype=np.int32).tobytes())
        return digest.digest()

    def sentence_texts(self) -> list[tuple[str, str]]:
        """Each sentence alone and with the context, as they are embedded."""
        return [(self.text[s:e], self.text[: self.head] + self.text[s:e]) for s, e in self.sentence_spans.tolist()]


def _in_parallel(
    encoders: Sequence[ModelPasses],
    batches: Sequence[list[int]],
    run: Callable[[ModelPasses, list[int]], None],
    progress: Callable[[int], None],
) -> None:
    """Batches dealt round-robin to one thread per encoder; onnxruntime and torch release the GIL as they run."""

    def work(worker: int) -> None:
        for rows in batches[worker :: len(encoders)]:
            run(encoders[worker], rows)
            progress(len(rows))

    with ThreadPoolExecutor(len(encoders)) as pool:
        list(pool.map(work, range(len(encoders))))  # list(): re-raises a worker's exception here


def job_encoders(
    model: Path, texts: int, torch_encoder: Callable[[], Encoder], workers: int | None = None
) -> list[ModelPasses]:
    """Torch on every core for a large job; else onnxruntime, one single-threaded session per worker."""
    if texts >= TORCH_FROM_TEXTS:
        from followup.embed.bulk_encoder import TorchPassEncoder

        return [TorchPassEncoder(torch_encoder())]
    from followup.embed.encoder import OnnxQueryEncoder

    workers = max(1, min(workers or os.cpu_count() or 1, -(-texts // TEXTS_PER_WORKER)))
    return [OnnxQueryEncoder(model, threads=1) for _ in range(workers)]


def short_texts(texts: Sequence[ChunkText]) -> list[str]:
    """The sentence texts a job embeds beside its chunk texts: each once, and none that is a chunk text."""
    chunk_texts = {t.text for t in texts}
    return list(dict.fromkeys(x for t in texts for pair in t.sentence_texts() for x in pair if x not in chunk_texts))


def in_parts(texts: Sequence[ChunkText], part_chunks: int | None = None) -> list[Sequence[ChunkText]]:
    """The job's chunks, `part_chunks` (default PART_CHUNKS) at a time, in order."""
    size = max(1, part_chunks or PART_CHUNKS)
    return [texts[start : start + size] for start in range(0, len(texts), size)]


def embed_in_parts(
    texts: Sequence[ChunkText],
    encoders_for: Callable[[int], Sequence[ModelPasses]],
    progress: Callable[[int, int], None] | None = None,
    part_chunks: int | None = None,
) -> Iterator[tuple[Sequence[ChunkText], list[ChunkEmbedding]]]:
    """Embed many chunks `part_chunks` (default PART_CHUNKS) at a time, every core busy, on the encoders
    `encoders_for` gives for the whole job's size in texts; each part's chunks and embeddings as it is
    done, so the caller writes it away before the next is embedded. Progress counts the whole job's texts."""
    parts = in_parts(texts, part_chunks)
    shorts = [short_texts(part) for part in parts]
    total = sum(len(part) + len(short) for part, short in zip(parts, shorts, strict=True))
    encoders = encoders_for(total) if parts else []
    done = 0

    def count(n: int) -> None:  # texts done in the current part
        if progress:
            progress(done + n, total)

    for part, short in zip(parts, shorts, strict=True):
        yield part, _embed_part(part, short, encoders, count)
        done += len(part) + len(short)


def embed_chunks(
    texts: Sequence[ChunkText],
    encoders_for: Callable[[int], Sequence[ModelPasses]],
    progress: Callable[[int, int], None] | None = None,
) -> list[ChunkEmbedding]:
    """Every chunk's embeddings, embedded as one part."""
    return [e for _, part in embed_in_parts(texts, encoders_for, progress, max(1, len(texts))) for e in part]


def _embed_part(
    texts: Sequence[ChunkText], short: Sequence[str], encoders: Sequence[ModelPasses], progress: Callable[[int], None]
) -> list[ChunkEmbedding]:
    lock = threading.Lock()
    done = 0

    def count(n: int) -> None:
        nonlocal done
        with lock:
            done += n
            progress(done)

    dense = np.zeros((len(texts), encoders[0].dimension), np.float32)
    tokens: dict[int, QuantisedTokens] = {}

    def chunk_pass(encoder: ModelPasses, rows: list[int]) -> None:
        vectors, found = encoder.encode_with_tokens([texts[i].text for i in rows])
        dense[rows] = vectors
        tokens.update(zip(rows, map(QuantisedTokens.of, found), strict=True))  # distinct keys per thread

    pooled = np.zeros((len(short), encoders[0].dimension), np.float32)

    def sentence_pass(encoder: ModelPasses, rows: list[int]) -> None:
        pooled[rows] = encoder.encode([short[i] for i in rows])

    _in_parallel(encoders, length_batches([t.text for t in texts], encoders[0].chunk_batch), chunk_pass, count)
    _in_parallel(encoders, length_batches(short, encoders[0].sentence_batch), sentence_pass, count)
    return assemble(texts, short, dense, [tokens[i] for i in range(len(texts))], pooled)


def assemble(
    texts: Sequence[ChunkText],
    short: Sequence[str],
    dense: np.ndarray,
    tokens: Sequence[QuantisedTokens],
    pooled: np.ndarray,
) -> list[ChunkEmbedding]:
    """Each chunk's embeddings from its pass (`dense`, `tokens`) and the short passes (`pooled`, in the
    order of `short`): a sentence's vector is the mean of its passes alone and in context."""
    chunk_rows = {t.text: i for i, t in enumerate(texts)}
    short_rows = {text: i for i, text in enumerate(short)}

    def vector(text: str) -> np.ndarray:
        found: np.ndarray = dense[chunk_rows[text]] if text in chunk_rows else pooled[short_rows[text]]
        return found

    result = []
    for i, chunk in enumerate(texts):
        # The mean, not re-normalised, as the sentence relevances were always computed.
        own = [(vector(alone) + vector(within)) / 2 for alone, within in chunk.sentence_texts()]
        sentences = np.stack(own) if own else np.zeros((0, dense.shape[1]), np.float32)
        result.append(ChunkEmbedding(dense[i].copy(), sentences.astype(np.float32), tokens[i]))
    return result
