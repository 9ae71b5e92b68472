"""`followup eval`: run a suite or a BEIR benchmark, every configuration side by side; save a run folder."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from followup import __version__
from followup.beir import is_beir_dir, load_beir
from followup.config import DEFAULT_RETRIEVAL, ChunkingParams
from followup.errors import FollowupError


@dataclass(frozen=True)
class EvalOutcome:
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    curves: dict[str, dict[str, float]]


def run_beir(path: Path, split: str, chunking: ChunkingParams, cache_dir: Path) -> EvalOutcome:
    from followup.encoder import Encoder
    from followup.eval_beir import evaluate_beir

    dataset = load_beir(path, split)
    results = evaluate_beir(dataset, Encoder(), chunking, cache_dir, rrf_k=DEFAULT_RETRIEVAL.rrf_k,
                            minmax_weights=DEFAULT_RETRIEVAL.minmax_weights)  # fmt: skip
    summary = {
        "suite": dataset.name,
        "split": split,
        "queries": len(dataset.queries),
        "followup_version": __version__,
        "results": {mode: r.metrics for mode, r in results.items()},
        "latency_ms": {mode: r.latency_ms for mode, r in results.items()},
        "settings": {"chunking": chunking.as_dict(), "rrf_k": DEFAULT_RETRIEVAL.rrf_k,
                     "minmax_weights": list(DEFAULT_RETRIEVAL.minmax_weights),
                     "scoring": "document = its best chunk (MaxP); 1000 documents per retriever fused"},
    }  # fmt: skip
    rows = [{"query_id": q, "mode": mode, "metrics": values} for mode, r in results.items()
            for q, values in r.per_query.items()]  # fmt: skip
    return EvalOutcome(summary, rows, {mode: r.recall_curve for mode, r in results.items()})


def run_suite(path: Path, split: str, index_dir: Path, corpus_dir: Path) -> EvalOutcome:
    from followup.corpus import load_corpus
    from followup.eval_suite import configs, evaluate_suite
    from followup.pipeline import Answerer
    from followup.suite import load_suite

    items = load_suite(path, split)
    if not items:
        raise FollowupError(f"{path}: no questions in split {split!r}")
    answerer = Answerer.load(index_dir, corpus_dir)
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
        "settings": {"retrieval": params, "index": answerer.index.manifest.get("chunking")},
    }
    rows = [row for r in results.values() for row in r.rows]
    return EvalOutcome(summary, rows, {name: r.recall_curve for name, r in results.items()})


def run_eval(target: Path, split: str, index_dir: Path, corpus_dir: Path, chunking: ChunkingParams,
             cache_dir: Path) -> EvalOutcome:  # fmt: skip
    if is_beir_dir(target):
        return run_beir(target, "test" if split == "all" else split, chunking, cache_dir)
    if target.is_file():
        return run_suite(target, split, index_dir, corpus_dir)
    raise FollowupError(f"{target}: neither a BEIR directory (with corpus.jsonl) nor a suite file (.jsonl)")


def print_tables(outcome: EvalOutcome) -> None:
    from followup.report import table

    summary = outcome.summary
    retrieval = summary.get("retrieval", summary["results"])
    print(f"\n{summary['suite']} ({summary['split']}, {summary['queries']} queries): retrieval", file=sys.stderr)
    print(table(retrieval, summary["latency_ms"]), file=sys.stderr)
    if summary.get("answers"):
        print(f"\n{summary['suite']} ({summary['split']}): answers", file=sys.stderr)
        print(table(summary["answers"]), file=sys.stderr)
