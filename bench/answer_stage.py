"""The answer score's token vectors: stored with the build, or computed at query time? Measured both ways.

    python bench/answer_stage.py [--index index] [--questions 60] [--library-chunks 50532] [--json]

1. Seed corpus (the built `index/`): per question, the answer stage's cost with the stored int8 token
   vectors (read, dequantise, MaxSim over the candidate passages of the top chunks), against
   computing the same top chunks' token vectors with the ONNX encoder at query time.
2. Library scale: a token store of MedQuAD's size (50,532 chunks of its real mean length, 96 tokens;
   random int8 values: only the layout and the reads matter here) written to a temporary directory
   and read memory-mapped as a build is, for random sets of top chunks; bytes on disk and the RSS
   the reads add.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from followup.answer.candidates import maxsims
from followup.answer.stages import score
from followup.answerer import Answerer
from followup.core.types import AskRequest, Chunk, Sentence
from followup.embed.token_vectors import ChunkEmbedding, QuantisedTokens, TokenEmbedding
from followup.evaluate.suites import load_suite
from followup.index.segments import CHUNK_EMBEDDINGS_FILE, ChunkEmbeddings, write_segment
from followup.ingest.chunking import indexed_text

SUITE = Path(__file__).resolve().parents[1] / "evals" / "muscle-spasm-suite.jsonl"
TOP_CHUNKS = 10  # what the pipeline takes candidates from
ROUNDS = 200  # questions against the library-sized store
MEDQUAD_TOKENS_PER_CHUNK = 96  # mean over MedQuAD's 50,535 chunks (context included)
SEGMENT_CHUNKS = 5_000


def rss_mb(kind: str) -> float:
    """Resident memory now, "RssAnon" (the process's own) or "RssFile" (pages of mapped files, which
    the kernel may drop under pressure): not the peak, as the store was built in this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def seed(index: Path, questions: int) -> dict[str, Any]:
    answerer = Answerer.load(index)
    encoder = answerer.encoder
    items = [i for i in load_suite(SUITE) if i.answerable][:questions]
    stored, computed = [], []
    for item in items:
        request = AskRequest(item.question, item.history)
        assessment = answerer.assess(request)
        queries = assessment.retrieval.query_tokens
        pool = assessment.candidates
        started = time.perf_counter()
        score(pool, queries, answerer.index)  # what the answer stage runs: read, dequantise, MaxSim
        stored.append((time.perf_counter() - started) * 1000)
        chunk_ids = [c for c, _ in assessment.retrieval.ranking[:TOP_CHUNKS]]
        texts = [
            indexed_text(answerer.index.chunks[c], answerer.index.documents[answerer.index.chunks[c].doc_id].text)
            for c in chunk_ids
        ]
        started = time.perf_counter()
        encoder.encode_with_tokens(texts)
        computed.append((time.perf_counter() - started) * 1000)
    return {
        "questions": len(items),
        "stored_int8_p50_ms": statistics.median(stored),
        "stored_int8_p95_ms": float(np.percentile(stored, 95)),
        "computed_at_query_time_p50_ms": statistics.median(computed),
        "computed_at_query_time_p95_ms": float(np.percentile(computed, 95)),
        "token_rows": int(answerer.index.manifest.raw["counts"]["tokens"]),
    }


def library(chunks: int, rounds: int = ROUNDS) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    dimension = 384
    with tempfile.TemporaryDirectory(prefix="followup-tokens-") as scratch:
        directory = Path(scratch)
        print(f"writing token vectors of {chunks} chunks...", file=sys.stderr)
        head = 8  # "chunk N\n"
        spans = np.stack([np.arange(MEDQUAD_TOKENS_PER_CHUNK) * 4 + head] * 2, axis=1).astype(np.int32)
        spans[:, 1] += 3
        spans[:8] = [[0, 5]] * 8  # the context's tokens
        names: list[str] = []
        refs: list[tuple[int, int]] = []
        for first in range(0, chunks, SEGMENT_CHUNKS):  # segments of 5,000: float32 rows are 150 kB a chunk
            embeddings = []
            for _ in range(min(SEGMENT_CHUNKS, chunks - first)):
                vectors = rng.standard_normal((MEDQUAD_TOKENS_PER_CHUNK, dimension)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                embeddings.append(
                    ChunkEmbedding(vectors[0], vectors[:1], QuantisedTokens.of(TokenEmbedding(vectors, spans)))
                )
            name = f"segment-{len(names) + 1:06d}"
            write_segment(directory, name, [bytes(32)] * len(embeddings), embeddings)
            refs += [(len(names), row) for row in range(len(embeddings))]
            names.append(name)
        np.save(directory / CHUNK_EMBEDDINGS_FILE, np.array(refs, dtype=np.int32))
        records = [Chunk(i, "d", "a", 0, 400, (), (Sentence(0, 400, ()),), "chunk 0") for i in range(chunks)]
        import gc

        gc.collect()
        size = sum(p.stat().st_size for p in directory.glob("segment-*.token-*.npy"))
        anonymous, mapped = rss_mb("RssAnon"), rss_mb("RssFile")
        tokens = ChunkEmbeddings(directory, names)
        query = rng.standard_normal((24, dimension)).astype(np.float32)  # both forms of a 12-token question
        query /= np.linalg.norm(query, axis=1, keepdims=True)
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            # three candidate spans in each of the top chunks (the seed's pools hold 10-19 in all)
            passages = [
                tokens.passage_tokens(records[int(chunk)], start, start + 140)
                for chunk in rng.choice(chunks, TOP_CHUNKS, replace=False)
                for start in (0, 130, 260)
            ]
            maxsims(query, passages)
            samples.append((time.perf_counter() - started) * 1000)
        return {
            "chunks": chunks,
            "tokens": chunks * MEDQUAD_TOKENS_PER_CHUNK,
            "bytes_on_disk": size,
            "fp32_bytes_would_be": chunks * MEDQUAD_TOKENS_PER_CHUNK * dimension * 4,
            "stage_p50_ms": statistics.median(samples),
            "stage_p99_ms": float(np.percentile(samples, 99)),
            "anonymous_mb_added": rss_mb("RssAnon") - anonymous,
            "file_pages_mb_added": rss_mb("RssFile") - mapped,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--library-chunks", type=int, default=50_532)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = {"seed": seed(args.index, args.questions), "library": library(args.library_chunks)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    s, lib = report["seed"], report["library"]
    print(f"seed corpus, {s['questions']} questions, the candidates of the top {TOP_CHUNKS} chunks scored:")
    print(f"  stored int8 token vectors: p50 {s['stored_int8_p50_ms']:.2f} ms, p95 {s['stored_int8_p95_ms']:.2f} ms")
    print(f"  computed at query time (ONNX, 1 thread): p50 {s['computed_at_query_time_p50_ms']:.1f} ms, "
          f"p95 {s['computed_at_query_time_p95_ms']:.1f} ms")  # fmt: skip
    print(f"library of {lib['chunks']} chunks ({lib['tokens']:,} tokens): {lib['bytes_on_disk'] / 1e9:.2f} GB on disk "
          f"(fp32 would be {lib['fp32_bytes_would_be'] / 1e9:.1f} GB); stage p50 {lib['stage_p50_ms']:.2f} ms, "
          f"p99 {lib['stage_p99_ms']:.2f} ms; after {ROUNDS} questions {lib['anonymous_mb_added']:.0f} MB more "
          f"anonymous memory, {lib['file_pages_mb_added']:.0f} MB of the files' pages mapped")  # fmt: skip


if __name__ == "__main__":
    main()
