"""Chunks/s of the embedding job on Ray Data (2 local actors) against the in-process job, on the same
MedQuAD chunk texts: the first 1,100 characters of long answers under their title ("title\\ntext"),
split into sentences as the chunker splits them, each chunk embedded with its sentence passes.

All runs use the ONNX encoder, one single-threaded session per worker, so they are comparable and
their vectors equal: in-process on one session, in-process on one session per core in threads (what
`embed_chunks` does on a small job), and Ray with `--actors` actors of one CPU. The Ray figure is
given with and without starting the local Ray instance (ray.init).

    python bench/ray_embedding.py [--chunks 240] [--actors 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from followup.core.words import sentence_spans
from followup.embed.chunk_embeddings import ChunkText, embed_chunks
from followup.embed.encoder import OnnxQueryEncoder
from followup.embed.onnx_export import export_query_model
from followup.embed.ray_job import embed_chunks_on_ray
from followup.embed.token_vectors import ChunkEmbedding
from followup.embed.torch_encoder import Encoder
from medquad_library import DEFAULT_BEIR

CHUNK_CHARACTERS = 1100


def chunk_texts(beir: Path, count: int) -> list[ChunkText]:
    result = []
    with (beir / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            answer = json.loads(line)
            if len(answer["text"]) <= CHUNK_CHARACTERS:
                continue
            head = f"{answer['title']}\n"
            text = head + answer["text"][:CHUNK_CHARACTERS]
            spans = np.array(sentence_spans(text, len(head), len(text)), np.int32).reshape(-1, 2)
            result.append(ChunkText(text, len(head), spans))
            if len(result) == count:
                break
    return result


def timed(run: Callable[[], list[ChunkEmbedding]]) -> tuple[float, list[ChunkEmbedding]]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def max_difference(a: Sequence[ChunkEmbedding], b: Sequence[ChunkEmbedding]) -> float:
    return max(
        max(float(np.abs(x.vector - y.vector).max()), float(np.abs(x.sentences - y.sentences).max(initial=0)))
        for x, y in zip(a, b, strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beir", type=Path, default=DEFAULT_BEIR)
    parser.add_argument("--chunks", type=int, default=240)
    parser.add_argument("--actors", type=int, default=2)
    args = parser.parse_args()
    texts = chunk_texts(args.beir, args.chunks)
    sentences = sum(len(t.sentence_spans) for t in texts)
    print(f"{len(texts)} chunk texts, {sentences} sentences, {os.cpu_count()} cores", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        model = Path(scratch) / "query-encoder.onnx"
        export_query_model(model, Encoder(), [t.text for t in texts[:8]])
        cores = os.cpu_count() or 1
        one, reference = timed(lambda: embed_chunks(texts, lambda n: [OnnxQueryEncoder(model)]))
        threads, _ = timed(lambda: embed_chunks(texts, lambda n: [OnnxQueryEncoder(model) for _ in range(cores)]))
        from followup.embed.ray_job import _import_ray

        ray = _import_ray()
        started = time.perf_counter()
        ray.init(address="local", num_cpus=args.actors, include_dashboard=False, log_to_driver=False,
                 _node_ip_address="127.0.0.1", logging_level="ERROR")  # fmt: skip
        startup = time.perf_counter() - started
        try:
            on_ray, embedded = timed(lambda: embed_chunks_on_ray(texts, model, actors=args.actors))
        finally:
            ray.shutdown()
    rows = [
        ("in-process, 1 onnx session", one),
        (f"in-process, {cores} onnx sessions in threads", threads),
        (f"ray data, {args.actors} actors (actor start included)", on_ray),
        (f"ray data, {args.actors} actors, with ray.init ({startup:.1f} s)", on_ray + startup),
    ]
    for name, seconds in rows:
        print(f"{name:<55} {len(texts) / seconds:6.1f} chunks/s  ({seconds:.1f} s)")
    print(f"largest |ray - in-process| over dense and sentence vectors: {max_difference(reference, embedded):.1e}")


if __name__ == "__main__":
    main()
