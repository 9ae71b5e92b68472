"""How fast each encoder embeds what a build embeds, and how close its vectors are to fp32's.

Texts from MedQuAD (BEIR corpus beside the project): chunk-length texts (the first 1,100 characters of
long answers, ~220 word pieces) and sentences (20-300 characters). Each is embedded by:

- onnxruntime fp32, one single-threaded session per core in threads, as small builds run it;
- torch fp32 and torch bfloat16 (autocast; only where the CPU has native bfloat16), on every core,
  as large builds run it (embed/bulk_encoder.py);

at a few batch sizes, in batches of similar length. Reported: texts/s, and the least and mean cosine
of each encoder's vectors to torch fp32's. The chosen batch sizes are the classes' chunk_batch and
sentence_batch.

    python bench/embedding_throughput.py [--chunks 160] [--sentences 1600] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from followup.embed.bulk_encoder import TorchPassEncoder, native_bfloat16
from followup.embed.encoder import ModelPasses, OnnxQueryEncoder, length_batches
from followup.embed.onnx_export import export_query_model
from followup.embed.torch_encoder import Encoder
from medquad_library import DEFAULT_BEIR


def sample_texts(beir: Path, chunks: int, sentences: int) -> tuple[list[str], list[str]]:
    answers = []
    with (beir / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line, _ in zip(lines, range(3000), strict=False):
            answers.append(json.loads(line)["text"])
    long = [a[:1100] for a in answers if len(a) > 1100][:chunks]
    short = [s for a in answers for s in re.split(r"(?<=[.!?])\s+", a) if 20 < len(s) < 300][:sentences]
    return long, short


def timed(encoders: Sequence[ModelPasses], texts: Sequence[str], batch: int) -> tuple[float, np.ndarray]:
    """Texts/s over `texts` in length-sorted batches dealt round-robin to one thread per encoder."""
    batches = length_batches(texts, batch)
    vectors = np.zeros((len(texts), encoders[0].dimension), np.float32)

    def work(worker: int) -> None:
        for rows in batches[worker :: len(encoders)]:
            vectors[rows] = encoders[worker].encode([texts[i] for i in rows])

    encoders[0].encode(texts[:batch])  # warm-up: first runs allocate
    started = time.perf_counter()
    with ThreadPoolExecutor(len(encoders)) as pool:
        list(pool.map(work, range(len(encoders))))
    return len(texts) / (time.perf_counter() - started), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beir", type=Path, default=DEFAULT_BEIR)
    parser.add_argument("--chunks", type=int, default=160)
    parser.add_argument("--sentences", type=int, default=1600)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chunks, sentences = sample_texts(args.beir, args.chunks, args.sentences)
    encoder = Encoder()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        onnx_path = Path(scratch) / "model.onnx"
        export_query_model(onnx_path, encoder, chunks[:8])
        kinds: dict[str, list[ModelPasses]] = {
            "torch fp32": [TorchPassEncoder(encoder, bfloat16=False)],
            f"onnxruntime fp32, {cores} sessions": [OnnxQueryEncoder(onnx_path, threads=1) for _ in range(cores)],
        }
        if native_bfloat16():
            kinds["torch bfloat16"] = [TorchPassEncoder(encoder, bfloat16=True)]
        report: dict[str, Any] = {"cores": cores, "native_bfloat16": native_bfloat16(), "results": []}
        for label, texts, sizes in (("chunk texts", chunks, (4, 16, 32)), ("sentences", sentences, (16, 64, 128))):
            reference: np.ndarray | None = None
            for kind, encoders in kinds.items():
                for batch in sizes:
                    print(f"{label}: {kind}, batches of {batch}", file=sys.stderr)
                    rate, vectors = timed(encoders, texts, batch)
                    if reference is None:
                        reference = vectors  # torch fp32 runs first
                    cosines = np.sum(vectors * reference, axis=1)
                    report["results"].append({"texts": label, "encoder": kind, "batch": batch,
                                              "texts_per_second": rate, "min_cosine_to_fp32": float(cosines.min()),
                                              "mean_cosine_to_fp32": float(cosines.mean())})  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{cores} cores, native bfloat16: {report['native_bfloat16']}")
    for r in report["results"]:
        print(f"{r['texts']:12} {r['encoder']:32} batch {r['batch']:4}: {r['texts_per_second']:7.1f} texts/s, "
              f"cosine to fp32 min {r['min_cosine_to_fp32']:.6f} mean {r['mean_cosine_to_fp32']:.6f}")  # fmt: skip


if __name__ == "__main__":
    main()
