"""Retrieval accuracy on a BEIR benchmark, every mode side by side, scored at document level."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from followup.beir import BeirDataset
from followup.bm25 import BM25Index
from followup.chunking import chunk_documents, indexed_text
from followup.config import ChunkingParams
from followup.embedding_cache import cached_embeddings
from followup.metrics import RECALL_CURVE, aggregate, per_query, percentiles
from followup.progress import ProgressLine
from followup.search import best_chunk_per_document, fuse, top_scores
from followup.text import tokenize
from followup.types import Block, Document

if TYPE_CHECKING:
    from followup.encoder import Encoder

BEIR_MODES = ("bm25", "dense", "hybrid-rrf", "hybrid-minmax")
DEPTH = 100  # documents kept per query: R@100 is the deepest measure
CANDIDATES = 1000  # documents per retriever before fusion


@dataclass(frozen=True)
class ModeResult:
    metrics: dict[str, float]
    recall_curve: dict[str, float]
    per_query: dict[str, dict[str, float]]
    latency_ms: dict[str, float]  # p50 and p95 of one query: embedding, scoring, fusion


def as_documents(dataset: BeirDataset) -> list[Document]:
    """Each benchmark document as one block; its title becomes the indexed context of its chunks."""
    return [Document(d.id, dataset.name, d.title, d.text, (Block(0, len(d.text), ()),)) for d in dataset.documents]


@dataclass(frozen=True)
class BenchmarkIndex:
    """A benchmark corpus chunked as the project's corpus is, with BM25 and (cached) chunk embeddings;
    rankings are per document, a document scoring as its best chunk."""

    ids: list[str]
    chunk_document: np.ndarray
    bm25: BM25Index
    vectors: np.ndarray

    def lexical(self, text: str) -> list[tuple[int, float]]:
        scores = best_chunk_per_document(self.bm25.scores(tokenize(text)), self.chunk_document, len(self.ids))
        return top_scores(scores, CANDIDATES)

    def dense(self, query_vector: np.ndarray) -> list[tuple[int, float]]:
        scores = best_chunk_per_document(self.vectors @ query_vector, self.chunk_document, len(self.ids))
        return top_scores(scores, CANDIDATES)

    def as_run(self, ranking: Sequence[tuple[int, float]]) -> dict[str, float]:
        """The top DEPTH documents with rank-derived scores, so trec_eval keeps our order (it breaks
        score ties by document id)."""
        return {self.ids[i]: float(DEPTH - n) for n, (i, _) in enumerate(ranking[:DEPTH])}


def build_benchmark_index(
    dataset: BeirDataset, encoder: Encoder, chunking: ChunkingParams, cache_dir: Path
) -> BenchmarkIndex:
    documents = [d for d in as_documents(dataset) if d.text.strip()]
    chunks = chunk_documents(documents, chunking)
    doc_index = {d.id: i for i, d in enumerate(documents)}
    texts = {d.id: d.text for d in documents}
    chunk_texts = [indexed_text(c, texts[c.doc_id]) for c in chunks]
    print(f"{dataset.name} ({dataset.split}): {len(documents)} documents, {len(chunks)} chunks, "
          f"{len(dataset.queries)} queries", file=sys.stderr)  # fmt: skip
    label = f"{dataset.name}-w{chunking.max_words}-o{chunking.overlap_sentences}"
    return BenchmarkIndex(
        ids=[d.id for d in documents],
        chunk_document=np.asarray([doc_index[c.doc_id] for c in chunks], dtype=np.int64),
        bm25=BM25Index([tokenize(t) for t in chunk_texts]),
        vectors=cached_embeddings(chunk_texts, encoder.encode, cache_dir, label),
    )


def evaluate_beir(
    dataset: BeirDataset,
    encoder: Encoder,
    chunking: ChunkingParams,
    cache_dir: Path,
    modes: Sequence[str] = BEIR_MODES,
    rrf_k: int = 60,
    minmax_weights: tuple[float, float] = (1.0, 1.0),
) -> dict[str, ModeResult]:
    index = build_benchmark_index(dataset, encoder, chunking, cache_dir)
    runs: dict[str, dict[str, dict[str, float]]] = {mode: {} for mode in modes}
    timings: dict[str, list[float]] = {mode: [] for mode in modes}
    progress = ProgressLine("queries")
    for done, (qid, text) in enumerate(dataset.queries.items(), start=1):
        started = time.perf_counter()
        vector = encoder.encode_query(text)
        encoded = time.perf_counter()
        lexical = index.lexical(text)
        lexical_done = time.perf_counter()
        dense = index.dense(vector)
        dense_done = time.perf_counter()
        rankings = {"bm25": lexical, "dense": dense}
        costs = {"bm25": lexical_done - encoded, "dense": (encoded - started) + (dense_done - lexical_done)}
        for mode in modes:
            mode_started = time.perf_counter()
            if mode.startswith("hybrid"):
                ranking = fuse([lexical, dense], mode.split("-")[1], rrf_k, minmax_weights)
                cost = costs["bm25"] + costs["dense"] + time.perf_counter() - mode_started
            else:
                ranking, cost = rankings[mode], costs[mode]
            runs[mode][qid] = index.as_run(ranking)
            timings[mode].append(cost * 1000)
        progress(done, len(dataset.queries))
    return {
        mode: ModeResult(
            aggregate(dataset.qrels, runs[mode]),
            aggregate(dataset.qrels, runs[mode], list(RECALL_CURVE)),
            per_query(dataset.qrels, runs[mode]),
            percentiles(timings[mode]),
        )
        for mode in modes
    }
