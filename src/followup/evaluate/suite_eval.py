"""The own follow-up suite: retrieval measures over chunks, and answer-level measures over passages."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from followup.answerer import Answerer
from followup.core.errors import CorpusError
from followup.core.progress import ProgressLine
from followup.core.settings import Mode, RetrievalParams
from followup.core.types import AskRequest, Role
from followup.evaluate.metrics import RECALL_CURVE, aggregate, per_query, percentiles
from followup.evaluate.suites import SuiteItem
from followup.ingest.corpus import Corpus
from followup.present.contract import Answer, Passage

DEPTH = 100


@dataclass(frozen=True)
class Config:
    """One column of the side-by-side comparison."""

    name: str
    mode: Mode
    params: RetrievalParams


def configs(base: RetrievalParams) -> list[Config]:
    return [
        Config("bm25", "bm25", base),
        Config("dense", "dense", base),
        Config("hybrid-rrf", "hybrid", replace(base, fusion="rrf")),
        Config("hybrid-minmax", "hybrid", replace(base, fusion="minmax")),
        Config(f"hybrid-{base.fusion}, no follow-up resolution", "hybrid", replace(base, resolve_followups=False)),
        Config(f"hybrid-{base.fusion}, no tier ordering", "hybrid", replace(base, order_by_tier=False)),
    ]


@dataclass(frozen=True)
class GoldSpan:
    source_id: str
    start: int
    end: int


def gold_spans(item: SuiteItem, texts: dict[str, str]) -> list[GoldSpan]:
    spans = []
    for gold in item.gold:
        text = texts.get(gold.source_id)
        if text is None:
            raise CorpusError(item.id, f"gold source {gold.source_id!r} is not in the index")
        start = text.find(gold.text)
        if start < 0:
            raise CorpusError(item.id, f"gold text not found verbatim in {gold.source_id}: {gold.text[:60]!r}")
        spans.append(GoldSpan(gold.source_id, start, start + len(gold.text)))
    return spans


def _overlaps(source_id: str, start: int, end: int, spans: Sequence[GoldSpan]) -> bool:
    return any(s.source_id == source_id and start < s.end and s.start < end for s in spans)


def passage_hits(passage: Passage, spans: Sequence[GoldSpan]) -> bool:
    """A passage answers when it, or a place it groups as the same statement, overlaps a gold sentence."""
    places = [(passage.source_id, passage.start, passage.end)] + [
        (q.source_id, q.start, q.end) for q in passage.also_in
    ]
    return any(_overlaps(source, start, end, spans) for source, start, end in places)


def evidence_in_tier_order(passages: Sequence[Passage]) -> bool:
    """The answer is cited, and the evidence after it runs from the best tier to the worst."""
    ranks = [p.tier.rank for p in passages if p.role is Role.EVIDENCE]
    return passages[0].role is Role.ANSWER and all(a <= b for a, b in pairwise(ranks))


def answer_measures(
    item: SuiteItem, answer: Answer, spans: Sequence[GoldSpan], sources: dict[str, str]
) -> dict[str, float]:
    """Per-question values; the run's figure is their mean over the questions each applies to."""
    values: dict[str, float] = {"abstained": float(not answer.answered), "should_abstain": float(not item.answerable)}
    places = [(p.source_id, p.start, p.end, p.text) for p in answer.passages]
    places += [(q.source_id, q.start, q.end, q.text) for p in answer.passages for q in p.also_in]
    values["grounded"] = float(all(sources[s][a:b] == t for s, a, b, t in places)) if places else 1.0
    if item.answerable:
        hits = [passage_hits(p, spans) for p in answer.passages]
        values["hit@1"] = float(any(hits[:1]))
        values["hit@3"] = float(any(hits[:3]))
        cited = {n for p in answer.passages[:3] for n in (*p.citations, *(m for q in p.also_in for m in q.citations))}
        values["citations"] = float(set(item.citations) <= cited)
    if answer.passages:
        values["tier_order"] = float(evidence_in_tier_order(answer.passages))
    return values


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    def mean(key: str) -> float:
        present = [r[key] for r in rows if key in r]
        return sum(present) / len(present) if present else 0.0

    abstained = sum(r["abstained"] for r in rows)
    should = sum(r["should_abstain"] for r in rows)
    correct = sum(r["abstained"] * r["should_abstain"] for r in rows)
    precision = correct / abstained if abstained else 1.0
    recall = correct / should if should else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "hit@1": mean("hit@1"),
        "hit@3": mean("hit@3"),
        "citation_accuracy": mean("citations"),
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstention_F1": f1,
        "tier_ordering": mean("tier_order"),
        "grounding": mean("grounded"),
    }


@dataclass(frozen=True)
class SuiteResult:
    retrieval: dict[str, float]
    answers: dict[str, float]
    recall_curve: dict[str, float]
    latency_ms: dict[str, float]
    rows: list[dict[str, Any]]


def evaluate_suite(
    answerer: Answerer, corpus: Corpus, items: Sequence[SuiteItem], config_list: Sequence[Config]
) -> dict[str, SuiteResult]:
    index = answerer.index
    sources = {d.id: d.text for d in corpus.documents}  # the corpus files, to check grounding against
    texts = {doc_id: doc.text for doc_id, doc in index.documents.items()}
    spans = {item.id: gold_spans(item, texts) for item in items}
    qrels = {
        item.id: {
            str(c.id): 1 for c in index.chunks for s in spans[item.id] if _overlaps(c.doc_id, c.start, c.end, [s])
        }
        for item in items
        if item.answerable
    }
    results: dict[str, SuiteResult] = {}
    progress = ProgressLine("questions x configurations")
    total, done = len(items) * len(config_list), 0
    for config in config_list:
        runner = Answerer(index, answerer.encoder, config.params)
        run: dict[str, dict[str, float]] = {}
        rows: list[dict[str, Any]] = []
        timings: list[float] = []
        for item in items:
            request = AskRequest(item.question, item.history, mode=config.mode)
            started = time.perf_counter()
            assessment = runner.assess(request)
            answer = runner.decide(request, assessment)
            timings.append((time.perf_counter() - started) * 1000)
            ranking = assessment.retrieval.ranking[:DEPTH]
            run[item.id] = {str(chunk_id): float(DEPTH - rank) for rank, (chunk_id, _) in enumerate(ranking)}
            measures = answer_measures(item, answer, spans[item.id], sources)
            top = answer.passages[0] if answer.passages else None
            rows.append(
                {
                    "query_id": item.id,
                    "mode": config.name,
                    "kind": item.kind,
                    "metrics": measures,
                    "query": answer.query,
                    "answered": answer.answered,
                    "not_covered": list(answer.not_covered),  # why it abstained, when that is why
                    "top_passage": top.text if top else None,
                    "top_citations": list(top.citations) if top else [],
                }
            )
            done += 1
            progress(done, total)
        answerable = {q: run[q] for q in qrels}
        ir_rows = per_query(qrels, answerable)
        for row in rows:
            row["metrics"].update(ir_rows.get(row["query_id"], {}))
        results[config.name] = SuiteResult(
            aggregate(qrels, answerable),
            summarise([r["metrics"] for r in rows]),
            aggregate(qrels, answerable, list(RECALL_CURVE)),
            percentiles(timings),
            rows,
        )
    return results
