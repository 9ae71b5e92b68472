"""`followup eval`: run a suite or a BEIR benchmark, every configuration side by side; save a run folder."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from followup import __version__
from followup.core.errors import FollowupError
from followup.core.settings import DEFAULT_RETRIEVAL, ChunkingParams
from followup.evaluate.beir_data import is_beir_dir, load_beir
from followup.index.backend_choice import BackendChoice

if TYPE_CHECKING:
    from followup.embed.torch_encoder import Encoder
    from followup.evaluate.beir_eval import BenchmarkIndex
    from followup.index.retrievers import Retriever


@dataclass(frozen=True)
class EvalOutcome:
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    curves: dict[str, dict[str, float]]


def query_model_path(index_dir: Path, cache_dir: Path, encoder: Encoder, reference_texts: Sequence[str]) -> Path:
    """The question model `followup ask` embeds questions with on this CPU (index/reader.question_model):
    the one an index build keeps in `<index>/embeddings/`, else one in the benchmark cache, exported
    there (and checked against sentence-transformers) when neither exists."""
    from followup.embed.cpu import int8_dot_products
    from followup.embed.onnx_export import kept_query_model
    from followup.embed.question_model import kept_question_models
    from followup.index.layout import EMBEDDINGS, QUESTION_MODEL_FILE, QUESTION_MODEL_FP32_FILE

    name = QUESTION_MODEL_FILE if int8_dot_products() else QUESTION_MODEL_FP32_FILE
    built = kept_query_model(index_dir / EMBEDDINGS, name)
    if built.is_file():
        return built
    fp32, int8 = kept_question_models(kept_query_model(cache_dir, QUESTION_MODEL_FP32_FILE),
                                      kept_query_model(cache_dir, QUESTION_MODEL_FILE),
                                      lambda: encoder, reference_texts, announce=True)  # fmt: skip
    return int8 if name == QUESTION_MODEL_FILE else fp32


def _server_searches(backend: BackendChoice) -> Callable[[BenchmarkIndex], Retriever] | None:
    if backend.kind == "embedded":
        return None
    from followup.index.milvus_build import benchmark_retriever

    def searches(index: BenchmarkIndex) -> Retriever:
        documents = [index.ids[int(d)] for d in index.chunk_document.tolist()]
        return benchmark_retriever(backend, index.label, index.bm25, index.vectors, documents)

    return searches


def run_beir(
    path: Path, split: str, chunking: ChunkingParams, cache_dir: Path, index_dir: Path, backend: BackendChoice
) -> EvalOutcome:
    """`backend`: where the benchmark's chunks are searched (in memory, or written to a Milvus collection)."""
    from followup.embed.bulk_encoder import TorchPassEncoder
    from followup.embed.encoder import OnnxQueryEncoder
    from followup.embed.torch_encoder import Encoder
    from followup.evaluate.beir_eval import LATE_INTERACTION_WEIGHT, RERANK_DEPTH, BenchmarkEncoders, evaluate_beir

    dataset = load_beir(path, split)
    encoder = Encoder()
    onnx_path = query_model_path(index_dir, cache_dir, encoder,
                                 [f"{d.title}\n{d.text}" for d in dataset.documents[:32]])  # fmt: skip
    # Embedded as a library build embeds: chunks in bulk on torch (bfloat16 where the CPU has it,
    # embed/bulk_encoder.py), queries through the question model on one thread, as `followup ask`.
    bulk, queries = TorchPassEncoder(encoder), OnnxQueryEncoder(onnx_path, threads=1)
    variant = "bf16" if bulk.bfloat16 else "fp32"  # the cache files name how the chunks were embedded
    results = evaluate_beir(dataset, BenchmarkEncoders(bulk.encode_many, queries, bulk.encode_tokens), chunking,
                            cache_dir, rrf_k=DEFAULT_RETRIEVAL.rrf_k, minmax_weights=DEFAULT_RETRIEVAL.minmax_weights,
                            cache_variant=variant, searches_for=_server_searches(backend))  # fmt: skip
    summary = {
        "suite": dataset.name,
        "split": split,
        "queries": len(dataset.queries),
        "followup_version": __version__,
        "results": {mode: r.metrics for mode, r in results.items()},
        "latency_ms": {mode: r.latency_ms for mode, r in results.items()},
        "added_latency_ms": {mode: r.added_latency_ms for mode, r in results.items() if r.added_latency_ms},
        "settings": {"chunking": chunking.as_dict(), "rrf_k": DEFAULT_RETRIEVAL.rrf_k,
                     "minmax_weights": list(DEFAULT_RETRIEVAL.minmax_weights),
                     "scoring": "document = its best chunk (MaxP); 1000 documents per retriever fused",
                     "late_interaction": {"weight": LATE_INTERACTION_WEIGHT, "depth": RERANK_DEPTH,
                                          "query_model": str(onnx_path),
                                          "scoring": "document = its best chunk's MaxSim over the chunk's "
                                                     "token vectors (ONNX, int8); blended with the fused "
                                                     "score, both min-max scaled over the top documents"}},
    }  # fmt: skip
    rows = [{"query_id": q, "mode": mode, "metrics": values} for mode, r in results.items()
            for q, values in r.per_query.items()]  # fmt: skip
    return EvalOutcome(summary, rows, {mode: r.recall_curve for mode, r in results.items()})


def run_suite(path: Path, split: str, index_dir: Path, corpus_dir: Path) -> EvalOutcome:
    from followup.answerer import Answerer
    from followup.evaluate.suite_eval import configs, evaluate_suite
    from followup.evaluate.suites import load_suite
    from followup.ingest.corpus import load_corpus

    items = load_suite(path, split)
    if not items:
        raise FollowupError(f"{path}: no questions in split {split!r}")
    answerer = Answerer.load(index_dir, corpus_dir, threads=os.cpu_count() or 1)
    results = evaluate_suite(answerer, load_corpus(corpus_dir), items, configs(DEFAULT_RETRIEVAL))
    params = asdict(DEFAULT_RETRIEVAL)
    summary = {
        "suite": path.stem,
        "split": split,
        "queries": len(items),
        "answerable": sum(i.answerable for i in items),
        "followup_version": __version__,
        "results": {name: {**r.retrieval, **r.answers} for name, r in results.items()},
        "retrieval": {name: r.retrieval for name, r in results.items()},
        "answers": {name: r.answers for name, r in results.items()},
        "latency_ms": {name: r.latency_ms for name, r in results.items()},
        "settings": {"retrieval": params, "index": answerer.index.manifest.chunking},
    }
    rows = [row for r in results.values() for row in r.rows]
    return EvalOutcome(summary, rows, {name: r.recall_curve for name, r in results.items()})


def run_graded(path: Path, split: str, index_dir: Path, corpus_dir: Path) -> EvalOutcome:
    """Follow-ups on many articles, every sentence graded: each asked scoped to its article. Per-query
    rows are kept for the dev split only: the test articles are read as figures, never question by
    question, so nothing is tuned on them."""
    from followup.answerer import Answerer
    from followup.evaluate.graded import evaluate_graded, load_graded
    from followup.evaluate.suite_eval import configs

    items = load_graded(path, split)
    if not items:
        raise FollowupError(f"{path}: no questions in split {split!r}")
    answerer = Answerer.load(index_dir, corpus_dir, threads=os.cpu_count() or 1)
    modes = configs(DEFAULT_RETRIEVAL)[:4]  # the four retrieval modes; the ablations are the own suite's
    results = evaluate_graded(answerer, items, modes)
    summary = {
        "suite": path.stem,
        "split": split,
        "queries": len(items),
        "answerable": sum(i.answerable for i in items),
        "articles": sorted({i.article for i in items}),
        "followup_version": __version__,
        "results": {name: r.pooled for name, r in results.items()},
        "by_article": {name: r.by_article for name, r in results.items()},
        "latency_ms": {name: r.latency_ms for name, r in results.items()},
        "settings": {"retrieval": asdict(DEFAULT_RETRIEVAL), "index": answerer.index.manifest.chunking},
    }
    rows = [row for r in results.values() for row in r.rows if row["split"] == "dev"]
    return EvalOutcome(summary, rows, {})


def run_eval(target: Path, split: str, index_dir: Path, corpus_dir: Path, chunking: ChunkingParams,
             cache_dir: Path, backend: BackendChoice | None = None) -> EvalOutcome:  # fmt: skip
    """`backend`: for a BEIR benchmark, where its chunks are searched; a suite is answered from the
    index's build, on the backend it was built for."""
    if is_beir_dir(target):
        split = "test" if split == "all" else split
        return run_beir(target, split, chunking, cache_dir, index_dir, backend or BackendChoice())
    if target.is_file():
        from followup.evaluate.graded import is_graded_suite

        if is_graded_suite(target):
            return run_graded(target, split, index_dir, corpus_dir)
        return run_suite(target, split, index_dir, corpus_dir)
    raise FollowupError(f"{target}: neither a BEIR directory (with corpus.jsonl) nor a suite file (.jsonl)")
