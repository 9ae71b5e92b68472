"""Retrieval metrics through ir-measures (trec_eval underneath), never by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ir_measures
import numpy as np
from ir_measures import RR, P, R, nDCG
from ir_measures.measures import Measure

MEASURES = [nDCG @ 10, R @ 5, R @ 10, R @ 100, RR @ 10, P @ 5]
RECALL_CURVE = [R @ 1, R @ 3, R @ 5, R @ 10, R @ 20, R @ 50, R @ 100]

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


def _qrels(qrels: Qrels) -> list[ir_measures.Qrel]:
    return [ir_measures.Qrel(q, d, rel) for q, docs in qrels.items() for d, rel in docs.items()]


def _run(run: Run) -> list[ir_measures.ScoredDoc]:
    return [ir_measures.ScoredDoc(q, d, s) for q, docs in run.items() for d, s in docs.items()]


def aggregate(qrels: Qrels, run: Run, measures: list[Measure] | None = None) -> dict[str, float]:
    """Mean of each measure over the judged queries; a query the run misses scores 0, as in BEIR."""
    measures = measures or MEASURES
    complete = {q: run.get(q) or {"__none__": 0.0} for q in qrels}
    values = ir_measures.calc_aggregate(measures, _qrels(qrels), _run(complete))
    return {str(m): float(values[m]) for m in measures}


def per_query(qrels: Qrels, run: Run, measures: list[Measure] | None = None) -> dict[str, dict[str, float]]:
    measures = measures or MEASURES
    complete = {q: run.get(q) or {"__none__": 0.0} for q in qrels}
    table: dict[str, dict[str, float]] = {q: {} for q in qrels}
    for metric in ir_measures.iter_calc(measures, _qrels(qrels), _run(complete)):
        table[metric.query_id][str(metric.measure)] = float(metric.value)
    return table


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """Latency summary in the units given: median and 95th percentile."""
    return {"p50": float(np.percentile(samples, 50)), "p95": float(np.percentile(samples, 95))}
